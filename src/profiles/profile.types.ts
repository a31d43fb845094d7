/** Segment profile data as the rest of the service sees it (the wire's snake_case stays in the adapter). */
export interface ExternalId {
  type: string;
  id: string;
}

export type Traits = Record<string, unknown>;

/** Where a trait's current value came from, as `/traits?verbose=true` says: null when Segment did not say. */
export interface TraitOrigin {
  /** The Segment source that last set it (`source_id`). */
  sourceId: string | null;
  /** When it was last set (`updated_at`, ISO 8601). */
  updatedAt: string | null;
}

/** A profile's traits as one verbose `/traits` read gives them: the plain values, and each one's origin. */
export interface ProfileTraits {
  traits: Traits;
  origins: Record<string, TraitOrigin>;
}

/** A profile in another collection linked to the user (`/links`): for now only accounts (`group_id`). */
export interface LinkedAccount {
  groupId: string;
}

export interface ProfileEvent {
  id: string;
  /** track, page, screen, identify... */
  type: string;
  /** The event name (`Order Completed`), or the page name for page calls. */
  name: string | null;
  occurredAt: string;
  properties: Record<string, unknown> | null;
  /** `context.consent.categoryPreferences` when the event carries it (src/profiles/consent-preferences.ts). */
  consent?: Record<string, unknown>;
}

export interface ResolvedProfile {
  /** Segment's profile id (`use_...`) when Segment names it, else the identifier that found it. */
  profileId: string;
  externalIds: ExternalId[];
}
