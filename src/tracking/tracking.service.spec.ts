import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { loadConfig, type AppConfig } from '../config/config';
import { startSandbox, type Sandbox } from '../sandbox/sandbox';
import { sandboxConfig } from '../sandbox/sandbox-config';
import type { TrackedCustomer } from './tracking-identity';
import { TrackingService, type ContextView } from './tracking.service';

/** The service on the real analytics-node, delivering over HTTP to the sandbox's collector. */

const known: TrackedCustomer = {
  profileKey: 'use_known',
  resolvedBy: { type: 'phone', id: '+12015550100' },
  externalIds: [
    { type: 'user_id', id: 'usr_1' },
    { type: 'phone', id: '+12015550100' },
  ],
  addresses: ['+12015550100'],
};
const anonymous: TrackedCustomer = { profileKey: 'use_anon', resolvedBy: null, externalIds: [{ type: 'anonymous_id', id: 'anon-1' }], addresses: [] };
const twilioOnly: TrackedCustomer = { profileKey: null, resolvedBy: null, externalIds: [], addresses: ['+12015550199'] };

describe(TrackingService.name, () => {
  let sandbox: Sandbox;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 6, quiet: true });
  });
  afterAll(() => sandbox.close());
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  function build(env: Record<string, string> = {}, segment: Partial<AppConfig['segment']> = {}): { service: TrackingService; metrics: Registry } {
    const config = sandboxConfig(loadConfig({ TRACKING_FLUSH_AT: '1', TRACKING_FLUSH_INTERVAL_MS: '10', ...env }), sandbox);
    const metrics = new Registry();
    return { service: new TrackingService({ ...config, segment: { ...config.segment, ...segment } }, metrics), metrics };
  }
  /** Runs `emit`, then flushes as a shutdown would, and answers what the collector received. */
  async function delivered(service: TrackingService, emit: () => void): Promise<Record<string, unknown>[]> {
    const before = sandbox.tracking.events().length;
    emit();
    await service.onApplicationShutdown();
    return sandbox.tracking.events().slice(before);
  }
  async function failures(metrics: Registry, reason: string): Promise<number> {
    const metric = await metrics.getSingleMetric('cc_tracking_events_failed_total')?.get();
    return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
  }
  const view = (overrides: Partial<ContextView> = {}): ContextView => ({
    customer: known,
    viewer: { workerSid: 'WK1', role: 'agent' },
    selected: new Set(['traits', 'profileId', 'freshness', '__typename']),
    refresh: false,
    startedAt: performance.now() - 12,
    settled: async () => ({
      stale: true,
      sources: [
        { source: 'segment.traits', error: null },
        { source: 'segment.events', error: 'UPSTREAM_UNAVAILABLE' },
      ],
    }),
    ...overrides,
  });

  it('sends Customer Context Viewed once the reads settle, about the customer by user_id', async () => {
    const { service } = build();
    const [event] = await delivered(service, () => service.contextViewed(view()));
    expect(event).toMatchObject({ type: 'track', event: 'Customer Context Viewed', userId: 'usr_1' });
    expect(event.anonymousId).toBeUndefined();
    expect(event.properties).toEqual({
      viewer_worker_sid: 'WK1',
      viewer_role: 'agent',
      parts: ['freshness', 'profileId', 'traits'],
      refresh: false,
      resolved_by: 'phone',
      has_profile: true,
      stale: true,
      failed_sources: ['segment.events'],
      latency_ms: expect.any(Number),
      sample_rate: 1,
    });
    expect((event.properties as { latency_ms: number }).latency_ms).toBeGreaterThanOrEqual(12);
  });

  it('sends Task Enriched with the attribute keys set, never their values', async () => {
    const { service } = build();
    const [event] = await delivered(service, () =>
      service.taskEnriched({
        customer: anonymous,
        taskSid: 'WT1',
        channel: 'sms',
        attributes: { customer_context: { vip: true, tier: 'platinum', audiences: ['vip'] }, customers: { name: 'Ada Lovelace', email: 'ada@example.com' } },
        matchedRules: ['vip', 'churn'],
        degradedReasons: ['segment.events:UPSTREAM_TIMEOUT'],
        latencyMs: 41.6,
      }),
    );
    expect(event).toMatchObject({ event: 'Task Enriched', anonymousId: 'anon-1' });
    expect(event.properties).toEqual({
      task_sid: 'WT1',
      channel: 'sms',
      attribute_keys: ['customer_context.audiences', 'customer_context.tier', 'customer_context.vip', 'customers.email', 'customers.name'],
      matched_rules: ['vip', 'churn'],
      degraded: true,
      degraded_reasons: ['segment.events:UPSTREAM_TIMEOUT'],
      latency_ms: 42,
    });
    expect(JSON.stringify(event)).not.toMatch(/platinum|Ada|example\.com/);
  });

  it('sends one Routing Rule Matched per matched rule', async () => {
    const { service } = build();
    const events = await delivered(service, () => service.routingRulesMatched({ customer: known, taskSid: 'WT2', matchedRules: ['vip', 'repeat_contact'] }));
    expect(events).toEqual([
      expect.objectContaining({ event: 'Routing Rule Matched', userId: 'usr_1', properties: { rule_name: 'vip', task_sid: 'WT2' } }),
      expect.objectContaining({ event: 'Routing Rule Matched', userId: 'usr_1', properties: { rule_name: 'repeat_contact', task_sid: 'WT2' } }),
    ]);
  });

  it('sends Customer Context Changed about a Twilio-only customer under a pseudonym', async () => {
    const { service } = build();
    const [event] = await delivered(service, () =>
      service.contextChanged({ customer: twilioOnly, parts: ['messages', 'conversations', 'messages'], source: 'conversations_webhook' }),
    );
    expect(event).toMatchObject({ event: 'Customer Context Changed', anonymousId: expect.stringMatching(/^cc_[0-9a-f]{32}$/) });
    expect(event.properties).toEqual({ parts: ['conversations', 'messages'], source: 'conversations_webhook' });
    expect(JSON.stringify(event)).not.toContain('2015550199');
  });

  it("tracks a kept answer's view with the freshness it carries, without waiting for reads", async () => {
    const { service } = build();
    const settled = jest.fn(view().settled);
    const freshness = { stale: false, sources: [{ source: 'segment.traits', error: null }] };
    const [event] = await delivered(service, () => service.contextViewed(view({ settled, freshness })));
    expect(event.properties).toMatchObject({ stale: false, failed_sources: [] });
    expect(settled).not.toHaveBeenCalled();
  });

  it('does nothing without a write key: no request, no error, a clean shutdown', async () => {
    const { service } = build({}, { writeKey: undefined });
    const settled = jest.fn(view().settled);
    const calls = sandbox.calls.count({ service: 'tracking' });
    const events = await delivered(service, () => {
      service.contextViewed(view({ settled }));
      service.taskEnriched({ customer: known, taskSid: 'WT3', channel: null, attributes: {}, matchedRules: [], degradedReasons: [], latencyMs: 1 });
      service.routingRulesMatched({ customer: known, taskSid: null, matchedRules: ['vip'] });
      service.contextChanged({ customer: known, parts: ['traits'], source: 'segment_webhook' });
    });
    expect(events).toEqual([]);
    expect(settled).not.toHaveBeenCalled();
    expect(sandbox.calls.count({ service: 'tracking' })).toBe(calls);
  });

  it('sends no views at sample rate 0, and does not even wait for their reads', async () => {
    const { service } = build({ TRACKING_VIEW_SAMPLE_RATE: '0' });
    const settled = jest.fn(view().settled);
    const events = await delivered(service, () => {
      service.contextViewed(view({ settled }));
      service.contextChanged({ customer: known, parts: ['traits'], source: 'segment_webhook' });
    });
    expect(events.map((e) => e.event)).toEqual(['Customer Context Changed']);
    expect(settled).not.toHaveBeenCalled();
  });

  it('counts and logs an event the collector refuses, without its payload and without throwing', async () => {
    const { service, metrics } = build({}, { writeKey: 'not-the-write-key' });
    const events = await delivered(service, () =>
      service.taskEnriched({
        customer: known,
        taskSid: 'WT9',
        channel: 'voice',
        attributes: { customers: { email: 'secret@example.com' } },
        matchedRules: [],
        degradedReasons: [],
        latencyMs: 5,
      }),
    );
    expect(events).toEqual([]);
    expect(await failures(metrics, 'delivery')).toBe(1);
    expect(warn).toHaveBeenCalledWith(
      expect.objectContaining({ event: 'Task Enriched', code: 'delivery_failure', reason: expect.stringContaining('401') }),
      'tracking event not delivered',
    );
    expect(JSON.stringify(warn.mock.calls)).not.toMatch(/secret|example\.com|usr_1/);
  });

  it('counts an event sent after shutdown as lost', async () => {
    const { service, metrics } = build();
    await service.onApplicationShutdown();
    service.contextChanged({ customer: known, parts: ['traits'], source: 'segment_webhook' });
    expect(await failures(metrics, 'after_close')).toBe(1);
  });

  it('lets a view still waiting for its reads finish before the last flush', async () => {
    const { service } = build({ TRACKING_FLUSH_AT: '100', TRACKING_FLUSH_INTERVAL_MS: '600000' });
    let release: () => void = () => undefined;
    const reads = new Promise<void>((resolve) => (release = resolve));
    const events = await delivered(service, () => {
      service.contextViewed(view({ settled: () => reads.then(() => ({ stale: false, sources: [] })) }));
      setTimeout(release, 50);
    });
    expect(events.map((e) => e.event)).toEqual(['Customer Context Viewed']);
  });
});
