import type { ExternalId, LinkedAccount, ProfileEvent, ProfileTraits, ResolvedProfile, Traits } from './profile.types';

/**
 * Port to the customer-profile store (Segment's Profile API). Every request names the profile by a
 * documented `type:value` identifier (`profileIdentifier`), never by its `use_…` id. `resolve` is
 * null when no profile has the identifier; the reads after it throw `PROFILE_NOT_FOUND` when the
 * profile is gone (merged or deleted since it was resolved): missing data, not an empty profile.
 */
export abstract class ProfileSource {
  abstract resolve(id: ExternalId): Promise<ResolvedProfile | null>;
  /** The traits with where each came from (one verbose read). */
  abstract traits(id: ExternalId): Promise<ProfileTraits>;
  /** Keys of the audiences the profile is in. */
  abstract audiences(id: ExternalId): Promise<string[]>;
  /** Newest first, at most `limit`. */
  abstract events(id: ExternalId, limit: number): Promise<ProfileEvent[]>;
  /** The accounts (`accounts` collection, by `group_id`) linked to the user, in Segment's order. */
  abstract accounts(id: ExternalId): Promise<LinkedAccount[]>;
  /** An account's traits; `PROFILE_NOT_FOUND` when Segment has no such account. */
  abstract accountTraits(groupId: string): Promise<Traits>;
}
