import type { AuthService } from '../auth/auth.service';

type ConnectionInit = Record<string, unknown> | null | undefined;

/** The Flex token a graphql-ws client sends in its connection_init payload, under any usual name. */
export function tokenFromConnectionInit(payload: ConnectionInit): string | null {
  if (!payload || typeof payload !== 'object') return null;
  for (const name of ['token', 'flexToken', 'X-Flex-Token', 'x-flex-token', 'Authorization', 'authorization']) {
    const value = payload[name];
    if (typeof value === 'string' && value.trim()) return value.replace(/^Bearer\s+/i, '').trim();
  }
  return null;
}

/**
 * Mercurius subscription options: subscriptions carry the same auth as queries, checked once at
 * connection_init; a connection without a valid Flex token is refused before any subscribe.
 */
export function liveSubscriptions(auth: AuthService) {
  return {
    onConnect: async ({ payload }: { payload: ConnectionInit }) => {
      const token = tokenFromConnectionInit(payload);
      if (!token) return false;
      try {
        return { principal: await auth.authenticate(token) };
      } catch {
        return false;
      }
    },
  };
}
