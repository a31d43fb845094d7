/**
 * The tracking plan: every event this service sends to Segment and the type of each property.
 * docs/tracking-plan.md documents the same events for data teams; change both together.
 *
 * Properties say what happened, never who the customer is or what they said: no trait values,
 * message bodies, emails or phone numbers. Identity travels in `userId` / `anonymousId` only.
 */

/** Fields of `customerContext` an agent can select, as reported in `parts`. */
export const CONTEXT_PARTS = [
  'profileId',
  'resolvedBy',
  'externalIds',
  'traits',
  'traitDetails',
  'account',
  'accounts',
  'audiences',
  'events',
  'conversations',
  'journey',
  'latestNote',
  'signals',
  'routing',
  'consent',
  'withheld',
  'freshness',
] as const;
export type ContextPart = (typeof CONTEXT_PARTS)[number];

/** The cached resources a webhook can change. */
export type TrackedPart = 'traits' | 'audiences' | 'events' | 'external_ids' | 'conversations' | 'messages' | 'intelligence' | 'notes';

export type ChangeSource = 'segment_webhook' | 'conversations_webhook' | 'intelligence_webhook' | 'copilot_webhook';

export interface CustomerContextViewed {
  viewer_worker_sid: string | null;
  viewer_role: string | null;
  parts: ContextPart[];
  refresh: boolean;
  resolved_by: string | null;
  has_profile: boolean;
  stale: boolean;
  failed_sources: string[];
  latency_ms: number;
  sample_rate: number;
}

export interface TaskEnriched {
  task_sid: string;
  channel: string | null;
  attribute_keys: string[];
  matched_rules: string[];
  degraded: boolean;
  degraded_reasons: string[];
  latency_ms: number;
}

export interface RoutingRuleMatched {
  rule_name: string;
  task_sid: string | null;
}

export interface CustomerContextChanged {
  parts: TrackedPart[];
  source: ChangeSource;
}

/** Event name (Segment's Object-Action, Title Case) → its properties. */
export interface TrackingPlan {
  'Customer Context Viewed': CustomerContextViewed;
  'Task Enriched': TaskEnriched;
  'Routing Rule Matched': RoutingRuleMatched;
  'Customer Context Changed': CustomerContextChanged;
}

export type TrackedEvent = keyof TrackingPlan;
