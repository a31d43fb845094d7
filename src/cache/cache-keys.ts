import { createHash } from 'node:crypto';
import type { IdentifierDigest } from '../security/identifier-digest';

/**
 * Every cache key the service writes, in one screen. Keys never hold personal data in clear:
 * identifiers (emails, phones) stand under their keyed digest (`ids`, IDENTIFIER_HASH_SECRET),
 * never a plain hash that enumerating phone numbers would reverse. A profile's keys share the
 * hash tag `{profile}` so a multi-key command on one customer stays on one Redis Cluster slot.
 */

export const cacheKeys = {
  /** identifier (type:value) → profile id, or a remembered "no profile". */
  resolution: (ids: IdentifierDigest, type: string, value: string) => `res:${ids.of(`${type}:${value}`)}`,
  traits: (profileKey: string) => `p:{${profileKey}}:traits`,
  audiences: (profileKey: string) => `p:{${profileKey}}:audiences`,
  events: (profileKey: string) => `p:{${profileKey}}:events`,
  externalIds: (profileKey: string) => `p:{${profileKey}}:external_ids`,
  /** A channel address's conversations (Twilio ParticipantConversations). */
  conversations: (ids: IdentifierDigest, address: string) => `conv:${ids.of(address)}`,
  messages: (conversationSid: string) => `msg:${conversationSid}`,
  conversationCustomer: (conversationSid: string) => `convaddr:${conversationSid}`,
  task: (taskSid: string) => `task:${taskSid}`,
  /** What webhooks told us about a profile recently, merged into every fetch of its data. */
  pendingChanges: (profileKey: string) => `p:{${profileKey}}:pending`,
  /** A Flex token's validation, under a digest: neither Redis nor a key dump holds a usable token. */
  authToken: (token: string) => `auth:${createHash('sha256').update(token).digest('base64url')}`,
  /** The customers of the tasks a worker holds now (ACCESS_STRICT). */
  workerCustomers: (workerSid: string) => `authz:worker:${workerSid}`,
  /** A webhook delivery already handled (Segment retries for hours). */
  delivery: (ids: IdentifierDigest, source: string, id: string) => `dlv:${source}:${ids.of(id)}`,
  /** Conversational Intelligence results kept for a profile (written by its webhook, never fetched); `:order` beside it. */
  insights: (profileKey: string) => `p:{${profileKey}}:insights`,
  /** Agent Copilot wrap-up notes kept for a profile (written by its webhook, never fetched); `:order` beside it. */
  notes: (profileKey: string) => `p:{${profileKey}}:notes`,
  /** Every key that holds one profile's Segment data: what a refresh drops. */
  profileKeys(profileKey: string): string[] {
    return [this.traits(profileKey), this.audiences(profileKey), this.events(profileKey), this.externalIds(profileKey)];
  },
};
