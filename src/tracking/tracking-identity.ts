import { createHmac, randomUUID } from 'node:crypto';
import { splitAddress } from '../identity/identity';
import type { ExternalId } from '../profiles/profile.types';

/** The customer an event is about; `CustomerRoot` is one. */
export interface TrackedCustomer {
  readonly profileKey: string | null;
  readonly resolvedBy: ExternalId | null;
  readonly externalIds: readonly ExternalId[];
  readonly addresses: readonly string[];
}

export type SegmentIdentity = { userId: string } | { anonymousId: string };

/**
 * Who a track call is about, as Segment's identity graph knows them: the customer's `user_id`,
 * else one of their `anonymous_id`s (any of them joins the same profile), else a pseudonym.
 */
export function segmentIdentity(customer: TrackedCustomer, pseudonymKey: string): SegmentIdentity {
  const known = customer.resolvedBy ? [customer.resolvedBy, ...customer.externalIds] : customer.externalIds;
  const userId = known.find((id) => id.type === 'user_id')?.id;
  if (userId) return { userId };
  const anonymousId = known.find((id) => id.type === 'anonymous_id')?.id;
  if (anonymousId) return { anonymousId };
  // Bare values, so a customer's SMS and WhatsApp addresses give one pseudonym; sorted, so the
  // order a lookup found them in does not matter.
  const stable = customer.profileKey ?? customer.addresses.map((address) => splitAddress(address).value).sort()[0];
  // Nothing stable at all (every source failed): a fresh id rather than one that would merge
  // every such view into a single made-up customer.
  return { anonymousId: stable ? pseudonym(stable, pseudonymKey) : randomUUID() };
}

/**
 * Keyed, because a plain hash of a phone number is reversed by hashing every phone number.
 * A profile key can be an identifier (`phone:+1…`) when Segment does not name the profile.
 */
function pseudonym(value: string, key: string): string {
  return `cc_${createHmac('sha256', key).update(value).digest('hex').slice(0, 32)}`;
}
