import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Analytics } from '@segment/analytics-node';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Registry } from 'prom-client';
import { AppConfig } from '../config/config';
import { CONTEXT_PARTS, type TrackedPart, type ChangeSource, type ContextPart, type TrackedEvent, type TrackingPlan } from './tracking-plan';
import { OWN_EVENT_CONTEXT } from './own-events';
import { segmentIdentity, type TrackedCustomer } from './tracking-identity';
import type { Viewer } from './viewer';

export interface FreshnessSummary {
  stale: boolean;
  sources: ReadonlyArray<{ source: string; error: string | null }>;
}

export interface ContextView {
  customer: TrackedCustomer;
  viewer: Viewer;
  /** Field names selected under `customerContext`. */
  selected: ReadonlySet<string>;
  refresh: boolean;
  /** `performance.now()` when the resolver began. */
  startedAt: number;
  /** Settles once every read the request started has; only called for sampled views without `freshness`. */
  settled(): Promise<FreshnessSummary>;
  /** Known already (a kept answer): the view is tracked at once. */
  freshness?: FreshnessSummary;
}

export interface TaskEnrichment {
  customer: TrackedCustomer;
  taskSid: string;
  /** TaskRouter's TaskChannelUniqueName. */
  channel: string | null;
  /** What enrichment wrote onto the task; only its keys are sent. */
  attributes: Record<string, unknown>;
  matchedRules: readonly string[];
  /** Codes (`segment.traits:UPSTREAM_TIMEOUT`), never free text; empty when nothing was missing. */
  degradedReasons: readonly string[];
  latencyMs: number;
}

export interface RuleMatches {
  customer: TrackedCustomer;
  taskSid: string | null;
  matchedRules: readonly string[];
}

export interface TrackedChange {
  customer: TrackedCustomer;
  parts: readonly TrackedPart[];
  source: ChangeSource;
}

const KNOWN_PARTS = new Set<string>(CONTEXT_PARTS);

/**
 * The one door to Segment's tracking API (analytics-node). Without a write key it does nothing.
 * Events are batched and sent in the background: a slow, failing or absent Segment never slows
 * or fails a request, it only costs the events (logged and counted in
 * `cc_tracking_events_failed_total`).
 */
@Injectable()
export class TrackingService implements OnApplicationShutdown {
  private readonly logger = new Logger(TrackingService.name);
  private readonly analytics: Analytics | null;
  private readonly pseudonymKey: string;
  /** Views waiting for their reads to settle; shutdown lets them finish before the last flush. */
  private readonly pendingViews = new Set<Promise<void>>();
  private readonly failed: Counter<'reason'>;

  constructor(
    private readonly config: AppConfig,
    registry: Registry,
  ) {
    this.failed = new Counter({
      name: 'cc_tracking_events_failed_total',
      help: 'Tracking events lost: refused or unreachable after retries (delivery), sent after shutdown began (after_close), refused by analytics-node (not_queued)',
      labelNames: ['reason'] as const,
      registers: [registry],
    });
    const { writeKey, trackingHost } = config.segment;
    this.pseudonymKey = writeKey ?? '';
    if (!writeKey) {
      this.analytics = null;
      this.logger.log('tracking off: SEGMENT_WRITE_KEY is not set, no events go to Segment');
      return;
    }
    this.analytics = new Analytics({ writeKey, host: trackingHost, flushAt: config.tracking.flushAt, flushInterval: config.tracking.flushIntervalMs });
    this.analytics.on('error', (error) => {
      this.failed.inc({ reason: 'delivery' });
      // The reason and the event name only: the context carries the payload.
      const reason = error.reason instanceof Error ? error.reason.message : String(error.reason);
      this.logger.warn({ event: error.ctx?.event.event, code: error.code, reason }, 'tracking event not delivered');
    });
    this.analytics.on('call_after_close', (event) => {
      this.failed.inc({ reason: 'after_close' });
      this.logger.warn({ event: event.event }, 'tracking event dropped: sent after shutdown began');
    });
    this.logger.log(`tracking to ${trackingHost} (batches of ${config.tracking.flushAt}, every ${config.tracking.flushIntervalMs} ms)`);
  }

  /**
   * `Customer Context Viewed`, once the view's reads settle (at once for a kept answer, whose
   * freshness is known); sampled by TRACKING_VIEW_SAMPLE_RATE.
   */
  contextViewed(view: ContextView): void {
    const sampleRate = this.config.tracking.viewSampleRate;
    if (!this.analytics || Math.random() >= sampleRate) return;
    if (view.freshness) {
      this.viewed(view, view.freshness, sampleRate);
      return;
    }
    const done = view
      .settled()
      .then((freshness) => this.viewed(view, freshness, sampleRate))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'Customer Context Viewed not tracked'))
      .finally(() => this.pendingViews.delete(done));
    this.pendingViews.add(done);
  }

  private viewed(view: ContextView, freshness: FreshnessSummary, sampleRate: number): void {
    this.track('Customer Context Viewed', view.customer, {
      viewer_worker_sid: view.viewer.workerSid,
      viewer_role: view.viewer.role,
      parts: [...view.selected].filter((field): field is ContextPart => KNOWN_PARTS.has(field)).sort(),
      refresh: view.refresh,
      resolved_by: view.customer.resolvedBy?.type ?? null,
      has_profile: view.customer.profileKey !== null,
      stale: freshness.stale,
      failed_sources: freshness.sources
        .filter((s) => s.error)
        .map((s) => s.source)
        .sort(),
      latency_ms: Math.round(performance.now() - view.startedAt),
      sample_rate: sampleRate,
    });
  }

  taskEnriched(enrichment: TaskEnrichment): void {
    this.track('Task Enriched', enrichment.customer, {
      task_sid: enrichment.taskSid,
      channel: enrichment.channel,
      attribute_keys: attributeKeys(enrichment.attributes).sort(),
      matched_rules: [...enrichment.matchedRules],
      degraded: enrichment.degradedReasons.length > 0,
      degraded_reasons: [...enrichment.degradedReasons],
      latency_ms: Math.round(enrichment.latencyMs),
    });
  }

  /** One `Routing Rule Matched` per matched rule, so rules can be counted without unnesting. */
  routingRulesMatched(matches: RuleMatches): void {
    for (const rule of matches.matchedRules) this.track('Routing Rule Matched', matches.customer, { rule_name: rule, task_sid: matches.taskSid });
  }

  contextChanged(change: TrackedChange): void {
    this.track('Customer Context Changed', change.customer, { parts: [...new Set(change.parts)].sort(), source: change.source });
  }

  /**
   * After the HTTP server has closed (not on module destroy, which runs while requests are still
   * in flight): no view can start any more, so flushing now loses nothing that was queued.
   */
  async onApplicationShutdown(): Promise<void> {
    if (!this.analytics) return;
    const deadline = Date.now() + this.config.tracking.shutdownTimeoutMs;
    await Promise.race([Promise.allSettled(this.pendingViews), sleep(this.config.tracking.shutdownTimeoutMs, undefined, { ref: false })]);
    // At least 1 ms: a zero timeout would make analytics-node wait without limit.
    await this.analytics.closeAndFlush({ timeout: Math.max(1, deadline - Date.now()) });
  }

  private track<E extends TrackedEvent>(event: E, customer: TrackedCustomer, properties: TrackingPlan[E]): void {
    if (!this.analytics) return;
    try {
      this.analytics.track({ ...segmentIdentity(customer, this.pseudonymKey), event, properties, context: OWN_EVENT_CONTEXT });
    } catch (error) {
      // A tracking bug must cost the event, never the request that caused it.
      this.failed.inc({ reason: 'not_queued' });
      this.logger.warn({ err: error, event }, 'tracking event not queued');
    }
  }
}

/** Dotted paths of the leaves (`customer_context.vip`); arrays are leaves. */
function attributeKeys(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, child]) =>
    child !== null && typeof child === 'object' && !Array.isArray(child)
      ? attributeKeys(child as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}
