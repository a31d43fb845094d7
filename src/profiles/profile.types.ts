/** Segment profile data as the rest of the service sees it (the wire's snake_case stays in the adapter). */
export interface ExternalId {
  type: string;
  id: string;
}

export type Traits = Record<string, unknown>;

export interface ProfileEvent {
  id: string;
  /** track, page, screen, identify... */
  type: string;
  /** The event name (`Order Completed`), or the page name for page calls. */
  name: string | null;
  occurredAt: string;
  properties: Record<string, unknown> | null;
  /** `context.consent.categoryPreferences` when the event carries it (src/privacy/consent.ts). */
  consent?: Record<string, unknown>;
}

export interface ResolvedProfile {
  /** Segment's profile id (`use_...`) when Segment names it, else the identifier that found it. */
  profileId: string;
  externalIds: ExternalId[];
}
