import type { ExternalId, ProfileEvent, ResolvedProfile, Traits } from './profile.types';

/**
 * Port to the customer-profile store (Segment's Profile API). `profileKey` is what `resolve`
 * returned as `profileId`. Methods return null where Segment has no such profile.
 */
export abstract class ProfileSource {
  abstract resolve(id: ExternalId): Promise<ResolvedProfile | null>;
  abstract traits(profileKey: string): Promise<Traits | null>;
  /** Keys of the audiences the profile is in. */
  abstract audiences(profileKey: string): Promise<string[] | null>;
  /** Newest first, at most `limit`. */
  abstract events(profileKey: string, limit: number): Promise<ProfileEvent[] | null>;
}
