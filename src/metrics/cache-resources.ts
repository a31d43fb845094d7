/**
 * The resource a cache key holds, from the layout in src/cache/cache-keys.ts: a short, fixed set of label values, never the key itself, which
 * carries profile ids and hashed identifiers.
 */
const BY_PREFIX: Readonly<Record<string, string>> = {
  res: 'resolution',
  conv: 'conversations',
  convaddr: 'conversation_customer',
  msg: 'messages',
  task: 'task',
  dlv: 'delivery',
  auth: 'auth_token',
  authz: 'worker_reservations',
};

/** What follows a profile's hash tag: `p:{<profile>}:traits`. */
const PROFILE_PARTS = new Set(['traits', 'audiences', 'events', 'external_ids', 'pending']);

export function cacheResource(key: string): string {
  if (key.startsWith('p:{')) {
    const part = key.slice(key.lastIndexOf('}:') + 2);
    return PROFILE_PARTS.has(part) ? part : 'other';
  }
  return BY_PREFIX[key.slice(0, key.indexOf(':'))] ?? 'other';
}
