import { Registry } from 'prom-client';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config/config';
import { CustomerContextService } from '../src/context/customer-context.service';
import { startSandbox, type Sandbox, type SandboxCustomer } from '../src/sandbox/sandbox';
import { sandboxConfig } from '../src/sandbox/sandbox-config';
import { TrackingService } from '../src/tracking/tracking.service';
import { startHarness, type Harness } from './support/harness';
import { freePort } from './support/redis-server';
import { found } from './support/eventually';

/** Segment tracking end to end: real analytics-node delivering over HTTP to the sandbox's collector. */

const FULL = /* GraphQL */ `
  query Context($lookup: CustomerLookupInput!) {
    customerContext(lookup: $lookup) {
      profileId resolvedBy { type id } externalIds { type id } traits audiences
      events(first: 5) { edges { node { name properties } } }
      conversations(first: 5) { edges { node { sid messages(last: 5) { author body } } } }
      journey(first: 5) { title }
      signals { repeatContact24h }
      routing { attributes matchedRules }
      freshness { stale sources { source error } }
    }
  }`;
const PROFILE_ONLY = /* GraphQL */ `
  query Profile($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId } }`;
const REFRESH = /* GraphQL */ `
  mutation Refresh($lookup: CustomerLookupInput!) { refreshCustomerContext(lookup: $lookup) { profileId traits } }`;

type Tracked = Record<string, unknown> & { event: string; userId?: string; anonymousId?: string; properties: Record<string, unknown> };
interface Routing {
  customerContext: { routing: { attributes: Record<string, unknown>; matchedRules: string[] } } | null;
}

const FAST = { TRACKING_FLUSH_AT: '1', TRACKING_FLUSH_INTERVAL_MS: '20' };

/** Delivery is asynchronous by design: wait at most 5 s for what a test expects. */
const until = <T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5_000) => found(what, probe, timeoutMs);

/** The collector's events after the first `from`. */
const eventsSince = (sandbox: Sandbox, from: number) => sandbox.tracking.events().slice(from) as Tracked[];
const nextEvent = (sandbox: Sandbox, from: number, name: string, timeoutMs?: number) =>
  until(name, () => eventsSince(sandbox, from).find((e) => e.event === name), timeoutMs);

async function failures(h: Harness, reason: string): Promise<number> {
  const metric = await h.app.get(Registry).getSingleMetric('cc_tracking_events_failed_total')?.get();
  return metric?.values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe('Segment tracking (e2e)', () => {
  let h: Harness;
  let vip: SandboxCustomer;

  beforeAll(async () => {
    h = await startHarness({ sandbox: { customers: 20 }, env: FAST });
    vip = h.sandbox.data.byArchetype('vip');
  });
  afterAll(() => h.close());
  beforeEach(() => h.sandbox.faults.clear());

  async function viewOf(lookup: Record<string, unknown>, query = PROFILE_ONLY): Promise<Tracked> {
    const from = h.sandbox.tracking.events().length;
    const answer = await h.gql(query, { lookup });
    expect(answer.errors).toBeUndefined();
    return nextEvent(h.sandbox, from, 'Customer Context Viewed');
  }

  it('sends Customer Context Viewed for a query, about the customer by their user_id', async () => {
    const event = await viewOf({ phone: vip.phone }, FULL);
    expect(event).toMatchObject({ type: 'track', userId: vip.userId, context: { library: { name: '@segment/analytics-node' } } });
    expect(event.anonymousId).toBeUndefined();
    // The viewer is known once the auth guard puts the agent on the request, null before.
    const { viewer_worker_sid: workerSid, viewer_role: role, ...properties } = event.properties;
    expect([null, h.sandbox.data.agents[0].workerSid]).toContain(workerSid);
    expect([null, 'agent']).toContain(role);
    expect(properties).toEqual({
      parts: ['audiences', 'conversations', 'events', 'externalIds', 'freshness', 'journey', 'profileId', 'resolvedBy', 'routing', 'signals', 'traits'],
      refresh: false,
      resolved_by: 'phone',
      has_profile: true,
      stale: false,
      failed_sources: [],
      latency_ms: expect.any(Number),
      sample_rate: 1,
    });
  });

  it('reports a refresh, and which sources failed', async () => {
    expect((await viewOf({ email: vip.email }, REFRESH)).properties).toMatchObject({ refresh: true, parts: ['profileId', 'traits'] });
    h.sandbox.faults.add({ service: 'segment', route: 'traits', status: 500 });
    const failed = await viewOf({ userId: h.sandbox.data.byArchetype('long_history').userId }, REFRESH);
    expect(failed.properties).toMatchObject({ stale: true, failed_sources: ['segment.traits'] });
  });

  it("sends an anonymous visitor's anonymous_id, and a pseudonym for customers with neither id", async () => {
    const visitor = h.sandbox.data.byArchetype('anonymous_only');
    expect(await viewOf({ anonymousId: visitor.anonymousIds[1] })).toMatchObject({ anonymousId: visitor.anonymousIds[1] });

    // Segment knows this one by phone only; the pseudonym is the profile's, whatever the lookup.
    const whatsapp = h.sandbox.data.byArchetype('whatsapp_only');
    const byPhone = await viewOf({ phone: whatsapp.phone });
    expect(byPhone).toMatchObject({ anonymousId: expect.stringMatching(/^cc_[0-9a-f]{32}$/), properties: { has_profile: true } });
    expect(byPhone.userId).toBeUndefined();
    expect((await viewOf({ address: `whatsapp:${whatsapp.phone}` })).anonymousId).toBe(byPhone.anonymousId);

    const twilioOnly = h.sandbox.data.byArchetype('no_profile');
    const bySms = await viewOf({ address: `sms:${twilioOnly.phone}` });
    expect(bySms).toMatchObject({ anonymousId: expect.stringMatching(/^cc_[0-9a-f]{32}$/), properties: { has_profile: false } });
    expect((await viewOf({ phone: twilioOnly.phone })).anonymousId).toBe(bySms.anonymousId);
  });

  it('sends Task Enriched, Routing Rule Matched and Customer Context Changed for a resolved customer', async () => {
    const routed = await h.gql<Routing>(FULL, { lookup: { phone: vip.phone } });
    const { attributes, matchedRules } = routed.data!.customerContext!.routing;
    expect(matchedRules.length).toBeGreaterThan(0);
    const root = (await h.app.get(CustomerContextService).resolve({ phone: vip.phone }))!;
    const tracking = h.app.get(TrackingService);
    const from = h.sandbox.tracking.events().length;

    tracking.taskEnriched({ customer: root, taskSid: vip.tasks[0].sid, channel: 'sms', attributes, matchedRules, degradedReasons: [], latencyMs: 35 });
    tracking.routingRulesMatched({ customer: root, taskSid: vip.tasks[0].sid, matchedRules });
    tracking.contextChanged({ customer: root, parts: ['traits', 'audiences'], source: 'segment_webhook' });

    // Counted by name: each event travels in its own batch (flushAt 1), so they may land in any
    // order, and the view of the query above may still land after `from`.
    const all = await until('the three kinds of event', () => {
      const events = eventsSince(h.sandbox, from);
      const count = (name: string) => events.filter((e) => e.event === name).length;
      const landed = count('Task Enriched') >= 1 && count('Customer Context Changed') >= 1 && count('Routing Rule Matched') >= matchedRules.length;
      return landed ? events : undefined;
    });
    expect(all.every((e) => e.userId === vip.userId)).toBe(true);
    const enriched = all.find((e) => e.event === 'Task Enriched')!;
    expect(enriched.properties).toMatchObject({
      task_sid: vip.tasks[0].sid,
      channel: 'sms',
      matched_rules: matchedRules,
      degraded: false,
      degraded_reasons: [],
      latency_ms: 35,
    });
    expect(enriched.properties.attribute_keys).toEqual(expect.arrayContaining(['customer_context.vip', 'customers.customer_label_2']));
    expect(all.filter((e) => e.event === 'Task Enriched')).toHaveLength(1);
    expect(
      all
        .filter((e) => e.event === 'Routing Rule Matched')
        .map((e) => e.properties.rule_name)
        .sort(),
    ).toEqual([...matchedRules].sort());
    expect(all.find((e) => e.event === 'Customer Context Changed')?.properties).toEqual({ parts: ['audiences', 'traits'], source: 'segment_webhook' });
  });

  // Last in this block: it reads everything the tests above made the service send.
  it("never sends the customers' trait values, emails, phones, names or message bodies", async () => {
    await viewOf({ phone: vip.phone }, FULL);
    const batches = h.sandbox.tracking.batches();
    const customers = [vip, ...(['anonymous_only', 'whatsapp_only', 'no_profile', 'long_history'] as const).map((a) => h.sandbox.data.byArchetype(a))];
    // Identifiers and words are looked for anywhere, even inside a longer string.
    const raw = JSON.stringify(batches);
    const personal = customers
      .flatMap((c) => [
        c.email,
        c.phone,
        c.phone?.replace('+', ''),
        c.name,
        ...c.conversations.flatMap((conversation) => conversation.messages.map((m) => m.body)),
      ])
      .filter((value): value is string => typeof value === 'string');
    expect(personal.length).toBeGreaterThan(50);
    expect(personal.filter((value) => raw.includes(JSON.stringify(value).slice(1, -1)))).toEqual([]);
    // Trait values as whole values, since short ones also name keys. An identifier type is the
    // plan's own word (resolved_by: 'email'), whatever a trait such as preferred_channel says.
    const sentValues = new Set(leaves(batches));
    const idTypes = new Set(['email', 'phone', 'user_id', 'anonymous_id']);
    const traitValues = customers
      .flatMap((c) => Object.values(c.traits))
      .filter((v) => (typeof v === 'string' || typeof v === 'number') && String(v).length >= 4 && !idTypes.has(String(v)));
    expect(traitValues.length).toBeGreaterThan(50);
    expect(traitValues.filter((value) => sentValues.has(value as string | number))).toEqual([]);
  });
});

/** Every string and number in a JSON value. */
function leaves(value: unknown): Array<string | number> {
  if (typeof value === 'string' || typeof value === 'number') return [value];
  if (value === null || typeof value !== 'object') return [];
  return Object.values(value).flatMap(leaves);
}

describe('Segment tracking delivery (e2e)', () => {
  const profileQuery = (h: Harness, customer: SandboxCustomer) => h.gql(PROFILE_ONLY, { lookup: { phone: customer.phone } });

  it('flushes queued events when the app closes', async () => {
    const h = await startHarness({ sandbox: { customers: 6 }, env: { TRACKING_FLUSH_AT: '1000', TRACKING_FLUSH_INTERVAL_MS: '600000' } });
    const vip = h.sandbox.data.byArchetype('vip');
    expect((await profileQuery(h, vip)).data).toEqual({ customerContext: { profileId: vip.profileId } });
    expect(h.sandbox.calls.count({ service: 'tracking' })).toBe(0);
    await h.close();
    expect(h.sandbox.tracking.events()).toEqual([expect.objectContaining({ event: 'Customer Context Viewed', userId: vip.userId })]);
  });

  it('flushes them on SIGTERM, through Nest shutdown hooks', async () => {
    const before = new Set(process.listeners('SIGTERM'));
    const h = await startHarness({ sandbox: { customers: 6 }, env: { TRACKING_FLUSH_AT: '1000', TRACKING_FLUSH_INTERVAL_MS: '600000' } });
    const nestHandlers = process.listeners('SIGTERM').filter((listener) => !before.has(listener));
    expect(nestHandlers).toHaveLength(1);
    // Nest re-raises the signal once shut down, to end the process; here the test process must live.
    const kill = jest.spyOn(process, 'kill').mockImplementation(() => true);
    try {
      await profileQuery(h, h.sandbox.data.byArchetype('vip'));
      nestHandlers[0]('SIGTERM');
      await until('Nest to finish its shutdown', () => (kill.mock.calls.length > 0 ? true : undefined));
      expect(kill).toHaveBeenCalledWith(process.pid, 'SIGTERM');
      expect(h.sandbox.tracking.events()).toEqual([expect.objectContaining({ event: 'Customer Context Viewed' })]);
    } finally {
      kill.mockRestore();
      await h.sandbox.close();
    }
  });

  it('delivers through a collector that answers 500 once (analytics-node retries)', async () => {
    const h = await startHarness({ sandbox: { customers: 6 }, env: FAST });
    try {
      h.sandbox.faults.add({ service: 'tracking', route: 'batch', status: 500, times: 1 });
      await profileQuery(h, h.sandbox.data.byArchetype('vip'));
      await nextEvent(h.sandbox, 0, 'Customer Context Viewed', 15_000);
      expect(
        h.sandbox.calls
          .log()
          .filter((c) => c.service === 'tracking')
          .map((c) => c.status),
      ).toEqual([500, 200]);
      expect(await failures(h, 'delivery')).toBe(0);
    } finally {
      await h.close();
    }
  });

  it.each([
    ['hangs', async (): Promise<Record<string, string>> => ({})],
    ['is down', async (): Promise<Record<string, string>> => ({ SEGMENT_WRITE_KEY: 'wk', SEGMENT_TRACKING_HOST: `http://127.0.0.1:${await freePort()}` })],
  ])('answers queries without waiting on the collector while it %s, and stops without waiting for it', async (state, collectorEnv) => {
    const h = await startHarness({ sandbox: { customers: 6 }, env: { ...FAST, TRACKING_SHUTDOWN_TIMEOUT_MS: '300', ...(await collectorEnv()) } });
    const vip = h.sandbox.data.byArchetype('vip');
    const hangs = state === 'hangs';
    // A hanging collector holds every batch until the sandbox closes: a query or a shutdown that
    // waited for delivery would never finish.
    if (hangs) h.sandbox.faults.add({ service: 'tracking', timeout: true });
    const held = () => h.sandbox.calls.count({ service: 'tracking', status: 0 });
    try {
      for (let i = 0; i < 5; i++) {
        const result = await profileQuery(h, vip);
        expect(result.data).toEqual({ customerContext: { profileId: vip.profileId } });
      }
      if (hangs) await until('a batch held by the collector', () => (held() > 0 ? true : undefined));
    } finally {
      await h.app.close();
      if (hangs) {
        // Stopped while the collector still holds its batches: nothing was delivered nor given up.
        expect(held()).toBeGreaterThan(0);
        expect(h.sandbox.calls.count({ service: 'tracking' })).toBe(held());
        expect(await failures(h, 'delivery')).toBe(0);
      }
      // A held request fails when the collector lets go of it (here: when the sandbox closes).
      await h.sandbox.close();
      await until('the lost event to be counted', async () => ((await failures(h, 'delivery')) >= 1 ? true : undefined));
    }
  });

  it('sends nothing and answers as usual without a write key', async () => {
    const sandbox = await startSandbox({ customers: 6, quiet: true });
    const config = sandboxConfig(loadConfig({ LOG_LEVEL: 'silent', ...FAST }), sandbox);
    const app = await createApp({ ...config, segment: { ...config.segment, writeKey: undefined } });
    try {
      await app.init();
      const vip = sandbox.data.byArchetype('vip');
      const response = await app.inject({
        method: 'POST',
        url: '/graphql',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.credentials.agentToken}` },
        payload: JSON.stringify({ query: PROFILE_ONLY, variables: { lookup: { phone: vip.phone } } }),
      });
      expect(response.json()).toEqual({ data: { customerContext: { profileId: vip.profileId } } });
    } finally {
      await app.close();
      await sandbox.close();
    }
    expect(sandbox.calls.count({ service: 'tracking' })).toBe(0);
  });
});
