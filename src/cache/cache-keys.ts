import type { IdentifierDigest } from '../common/identifier-digest';

/**
 * Every cache key the service writes, in one screen. Keys never hold personal data in clear:
 * identifiers (emails, phones) stand under their keyed digest (`ids`, IDENTIFIER_HASH_SECRET),
 * never a plain hash that enumerating phone numbers would reverse. A profile's keys share the
 * hash tag `{profile}` so a multi-key command on one customer stays on one Redis Cluster slot.
 */

export const cacheKeys = {
  /** identifier (type:value) → profile id, or a remembered "no profile". */
  resolution: (ids: IdentifierDigest, type: string, value: string) => `res:${ids.of(`${type}:${value}`)}`,
  /** Traits with each one's origin (a verbose read): a new key, since an older instance cached plain traits under `:traits`. */
  traits: (profileKey: string) => `p:{${profileKey}}:traits_verbose`,
  /** Plain traits as earlier versions cached them: never written now, still dropped by an erasure. */
  legacyTraits: (profileKey: string) => `p:{${profileKey}}:traits`,
  audiences: (profileKey: string) => `p:{${profileKey}}:audiences`,
  events: (profileKey: string) => `p:{${profileKey}}:events`,
  externalIds: (profileKey: string) => `p:{${profileKey}}:external_ids`,
  /** The accounts (`group_id`s) linked to a user (`/links`). */
  accounts: (profileKey: string) => `p:{${profileKey}}:accounts`,
  /** An account's traits, shared by every user linked to it; its group id under its digest, like any identifier. */
  accountTraits: (ids: IdentifierDigest, groupId: string) => `acct:${ids.of(`group_id:${groupId}`)}:traits`,
  /** A channel address's conversations (Twilio ParticipantConversations). */
  conversations: (ids: IdentifierDigest, address: string) => `conv:${ids.of(address)}`,
  messages: (conversationSid: string) => `msg:${conversationSid}`,
  conversationCustomer: (conversationSid: string) => `convaddr:${conversationSid}`,
  task: (taskSid: string) => `task:${taskSid}`,
  /** What webhooks told us about a profile recently, merged into every fetch of its data. */
  pendingChanges: (profileKey: string) => `p:{${profileKey}}:pending`,
  /**
   * Never written: the key under which a change to what webhooks told about a profile (its pending
   * overlay, insights, notes) is announced (`CacheService.announce`). Kept answers of the profile
   * are indexed under it, and the per-instance memos of that news are dropped when it changes.
   */
  news: (profileKey: string) => `p:{${profileKey}}:news`,
  /** The profile whose `news` key this is, or undefined for any other key. */
  profileOfNews: (key: string): string | undefined => (key.startsWith('p:{') && key.endsWith('}:news') ? key.slice(3, -6) : undefined),
  /** A Flex token's validation, under its digest (`tokenDigest`): neither Redis nor a key dump holds a usable token. */
  authTokenDigest: (digest: string) => `auth:${digest}`,
  /** The customers of the tasks a worker holds now (ACCESS_STRICT). */
  workerCustomers: (workerSid: string) => `authz:worker:${workerSid}`,
  /** A webhook delivery already handled (Segment retries for hours). */
  delivery: (ids: IdentifierDigest, source: string, id: string) => `dlv:${source}:${ids.of(id)}`,
  /** Conversational Intelligence results kept for a profile (written by its webhook, never fetched); `:order` beside it. */
  insights: (profileKey: string) => `p:{${profileKey}}:insights`,
  /** Agent Copilot wrap-up notes kept for a profile (written by its webhook, never fetched); `:order` beside it. */
  notes: (profileKey: string) => `p:{${profileKey}}:notes`,
  /** Every key that holds one profile's Segment data: what an erasure drops. */
  profileKeys(profileKey: string): string[] {
    return [
      this.traits(profileKey),
      this.legacyTraits(profileKey),
      this.audiences(profileKey),
      this.events(profileKey),
      this.externalIds(profileKey),
      this.accounts(profileKey),
    ];
  },
};
