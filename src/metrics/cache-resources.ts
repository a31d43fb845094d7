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
  acct: 'account_traits',
};

/** What follows a profile's hash tag (`p:{<profile>}:traits_verbose`), and its label. */
const PROFILE_PARTS: Readonly<Record<string, string>> = {
  traits_verbose: 'traits',
  traits: 'traits',
  audiences: 'audiences',
  events: 'events',
  external_ids: 'external_ids',
  pending: 'pending',
  accounts: 'accounts',
};

export function cacheResource(key: string): string {
  if (key.startsWith('p:{')) {
    const part = key.slice(key.lastIndexOf('}:') + 2);
    return Object.hasOwn(PROFILE_PARTS, part) ? PROFILE_PARTS[part] : 'other';
  }
  return BY_PREFIX[key.slice(0, key.indexOf(':'))] ?? 'other';
}
