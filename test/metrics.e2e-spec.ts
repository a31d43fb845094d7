import type { SandboxCustomer } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';
import { sample } from './support/metrics';
import { freePort } from './support/redis-server';
import { eventually, postForm, PUBLIC_BASE_URL, taskCreatedEvent, taskRouter } from './support/twilio-callers';

/** GET /metrics end to end: open to Prometheus, moved by real traffic, free of customer data. */

const QUERY = /* GraphQL */ `
  query AgentPanel($lookup: CustomerLookupInput!) {
    customerContext(lookup: $lookup) { profileId traits events(first: 3) { totalCount } conversations(first: 2) { edges { node { sid messages(last: 2) { body } } } } }
  }`;

describe('GET /metrics (e2e)', () => {
  let h: Harness;
  let customer: SandboxCustomer;
  const scrape = async () => (await fetch(`${h.url}/metrics`)).text();

  beforeAll(async () => {
    h = await startHarness({ env: { PUBLIC_BASE_URL } });
    customer = h.sandbox.data.customers.find((c) => c.index > 5 && c.profileId && c.phone && c.email && c.conversations.length > 0) as SandboxCustomer;
  });
  afterAll(() => h.close());

  it('answers Prometheus without a token, with Node metrics including event-loop lag', async () => {
    const response = await fetch(`${h.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    for (const name of ['nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'cc_profile_api_budget_waits_total']) {
      expect(text).toContain(`# TYPE ${name} `);
    }
  });

  it('moves with a query: request durations per route and operation, cache lookups per tier and resource, upstream calls', async () => {
    const before = await scrape();
    for (let i = 0; i < 2; i++) {
      const answer = await h.gql(QUERY, { lookup: { phone: customer.phone } });
      expect(answer.errors).toBeUndefined();
    }
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

    expect(delta('cc_http_request_duration_seconds_count', { method: 'POST', route: '/graphql', status: '200' })).toBe(2);
    expect(delta('cc_graphql_request_duration_seconds_count', { operation: 'AgentPanel', type: 'query' })).toBe(2);
    // The first query missed and called Segment; the second was answered from L1.
    expect(delta('cc_cache_misses_total', { resource: 'traits' })).toBe(1);
    expect(delta('cc_cache_hits_total', { resource: 'traits', tier: 'l1', state: 'fresh' })).toBe(1);
    expect(delta('cc_cache_misses_total', { resource: 'messages' })).toBeGreaterThan(0);
    expect(delta('cc_upstream_calls_total', { source: 'segment', outcome: 'ok' })).toBeGreaterThan(0);
    expect(delta('cc_upstream_calls_total', { source: 'twilio', outcome: 'ok' })).toBeGreaterThan(0);
  });

  it('counts GraphQL errors by code', async () => {
    const before = await scrape();
    const answer = await h.gql(`query Paged($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { events(after: "bm9wZQ") { totalCount } } }`, {
      lookup: { phone: customer.phone },
    });
    expect(answer.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(
      sample(await scrape(), 'cc_graphql_errors_total', { operation: 'Paged', code: 'BAD_REQUEST' }) -
        sample(before, 'cc_graphql_errors_total', { operation: 'Paged', code: 'BAD_REQUEST' }),
    ).toBe(1);
  });

  it('counts webhook outcomes, enrichment attempts and the stamp delay, and shows the queue depth', async () => {
    const before = await scrape();
    expect(before).toMatch(/^cc_enrichment_jobs_waiting \d+$/m);
    expect(before).toMatch(/^cc_enrichment_dead_letters \d+$/m);
    const task = await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: customer.phone }) });
    const event = taskCreatedEvent(h, task.sid, JSON.stringify({ from: customer.phone }));
    expect((await postForm(h, '/webhooks/taskrouter', event)).status).toBe(204);
    expect((await postForm(h, '/webhooks/taskrouter', { ...event, Sid: `EV${'1'.repeat(32)}` })).status).toBe(204);
    expect((await postForm(h, '/webhooks/taskrouter', { ...event, EventType: 'task.updated' })).status).toBe(204);
    // The attempt is counted when the task is stamped; the job leaves the queue just after (its ack).
    const after = await eventually(
      scrape,
      (text) =>
        sample(text, 'cc_enrichment_attempts_total', { outcome: 'stamped' }) > sample(before, 'cc_enrichment_attempts_total', { outcome: 'stamped' }) &&
        sample(text, 'cc_enrichment_jobs_waiting') + sample(text, 'cc_enrichment_jobs_pending') === 0,
    );
    const grew = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(grew('cc_webhook_events_total', { source: 'taskrouter', outcome: 'enqueued' })).toBe(1);
    expect(grew('cc_webhook_events_total', { source: 'taskrouter', outcome: 'duplicate' })).toBe(1);
    expect(grew('cc_webhook_events_total', { source: 'taskrouter', outcome: 'ignored' })).toBe(1);
    expect(grew('cc_enrichment_delay_seconds_count')).toBe(1);
    expect(sample(after, 'cc_enrichment_jobs_waiting') + sample(after, 'cc_enrichment_jobs_pending')).toBe(0);
    expect(sample(after, 'cc_enrichment_oldest_job_age_seconds')).toBe(0);
  });

  it('carries no customer data or credentials in its labels', async () => {
    await h.gql(QUERY, { lookup: { email: customer.email } });
    const text = await scrape();
    const secrets = [customer.phone, customer.email, customer.userId, customer.profileId, h.sandbox.credentials.agentToken, h.sandbox.credentials.authToken];
    for (const secret of secrets.filter((s): s is string => Boolean(s))) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
    // Every label value is one of a small vocabulary: names, codes, route patterns, numbers.
    const values = [...text.matchAll(/\w+="((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]);
    expect(values.filter((v) => !/^[\w./:+-]{0,64}$/.test(v))).toEqual([]);
  });
});

describe('METRICS_PORT (e2e)', () => {
  it('serves /metrics on its own port only, so the public port gives traffic figures to nobody', async () => {
    const port = await freePort();
    const h = await startHarness({ redis: false, env: { METRICS_PORT: String(port) } });
    try {
      const internal = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(internal.status).toBe(200);
      expect(await internal.text()).toContain('cc_http_request_duration_seconds');
      expect((await fetch(`http://127.0.0.1:${port}/graphql`)).status).toBe(404);
      const publicPort = await fetch(`${h.url}/metrics`);
      expect(publicPort.status).toBe(404);
      expect(await publicPort.text()).not.toContain('cc_');
    } finally {
      await h.close();
    }
    // Closed with the app.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});
