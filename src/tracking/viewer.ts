/** The agent behind a request, as far as it is known. */
export interface Viewer {
  workerSid: string | null;
  role: string | null;
}

/** Most privileged first: a supervisor who is also an agent is counted as a supervisor. */
const ROLE_ORDER = ['admin', 'supervisor', 'agent'];

/**
 * Reads `request.principal` (`{ workerSid, roles }` from Flex's token validation), which the auth
 * guard sets. Read structurally rather than through the guard's types so tracking works the same
 * with or without the guard: before it runs, or for a token without a worker, fields are null.
 */
export function viewerOf(request: unknown): Viewer {
  const principal = (request as { principal?: { workerSid?: unknown; roles?: unknown } } | null | undefined)?.principal;
  const workerSid = typeof principal?.workerSid === 'string' ? principal.workerSid : null;
  const roles = Array.isArray(principal?.roles) ? principal.roles.filter((role): role is string => typeof role === 'string') : [];
  const role = ROLE_ORDER.find((known) => roles.includes(known)) ?? roles[0] ?? null;
  return { workerSid, role };
}
