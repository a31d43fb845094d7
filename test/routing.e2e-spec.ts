import { createHash } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio';
import type { SandboxCustomer } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';
import { eventually, postForm, postJson, PUBLIC_BASE_URL, taskCreatedEvent, taskRouter } from './support/twilio-callers';

/**
 * Data-driven routing end to end: TaskRouter's webhook → the Redis-stream queue → a worker that
 * stamps the task in the sandbox over HTTP (real twilio-node, real If-Match), plus
 * /routing/attributes, routingPreview and enrichTask.
 */

const WEBHOOK = '/webhooks/taskrouter';
const ATTRIBUTES = '/routing/attributes';

type Stamp = Record<string, unknown>;

describe('routing (e2e)', () => {
  let h: Harness;
  let vip: SandboxCustomer;
  let spanish: SandboxCustomer;

  beforeAll(async () => {
    // A long upstream timeout: the 412 test holds our update in the sandbox, and a timed-out try would be retried.
    // One worker takes the jobs in the order they were queued, so a stamped sentinel proves every earlier job ran.
    h = await startHarness({ sandbox: { customers: 60 }, env: { PUBLIC_BASE_URL, UPSTREAM_TIMEOUT_MS: '5000', ENRICHMENT_WORKERS: '1' } });
    vip = h.sandbox.data.byArchetype('vip');
    spanish = h.sandbox.data.byArchetype('whatsapp_only');
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.sandbox.faults.clear();
    h.sandbox.calls.reset();
  });

  const createTask = async (attributes: Record<string, unknown>) => {
    const task = await taskRouter(h).tasks.create({ attributes: JSON.stringify(attributes) });
    return task.sid;
  };
  const stampOf = (sid: string) => h.sandbox.data.task(sid)?.attributes.customer_context as Stamp | undefined;
  const stamped = (sid: string) =>
    eventually(
      () => h.sandbox.data.task(sid)!,
      (task) => task.attributes.customer_context !== undefined,
    );
  const announce = (sid: string, event = taskCreatedEvent(h, sid, JSON.stringify(h.sandbox.data.task(sid)?.attributes ?? {}))) => postForm(h, WEBHOOK, event);
  const fetchesOf = (sid: string) => h.sandbox.calls.log().filter((c) => c.route === 'task' && c.path.includes(sid));
  /** A barrier: a new task announced now is stamped only after every job queued before it has run. */
  const everyEarlierJobRan = async () => {
    const sentinel = await createTask({ from: vip.phone });
    expect((await announce(sentinel)).status).toBe(204);
    await stamped(sentinel);
  };

  describe('POST /webhooks/taskrouter', () => {
    it('stamps a new task once: our namespace and customers.* merged, every other attribute kept', async () => {
      const sid = await createTask({ from: vip.phone, channelType: 'sms', foreign_key: 'keep-me', customers: { external_id: 'crm-1' }, nested: { a: 1 } });

      const response = await announce(sid);
      expect(response.status).toBe(204);
      const task = await stamped(sid);

      expect(task.updates).toHaveLength(1);
      expect(task.updates[0].ifMatch).toBe('0');
      expect(task.attributes).toMatchObject({ from: vip.phone, channelType: 'sms', foreign_key: 'keep-me', nested: { a: 1 } });
      expect(task.attributes.customers).toMatchObject({ external_id: 'crm-1', customer_label_2: 'gold' });
      expect(task.attributes.customer_context).toMatchObject({ known_customer: true, vip: true, tier: 'gold' });
      expect(task.attributes.customer_context).not.toHaveProperty('degraded');
    });

    it('acknowledges other events and does nothing', async () => {
      const sid = await createTask({ from: vip.phone });
      const event = { ...taskCreatedEvent(h, sid, '{}'), EventType: 'task.updated' };

      expect((await postForm(h, WEBHOOK, event)).status).toBe(204);
      await everyEarlierJobRan();
      expect(fetchesOf(sid)).toHaveLength(0);
      expect(h.sandbox.data.task(sid)?.updates).toHaveLength(0);
    });

    it.each([
      ['a forged signature', 'RSOYDt4T1cUTdK1PDd93/VVr8B8='],
      ['no signature', null],
    ])('refuses %s with 403 and changes nothing', async (_name, signature) => {
      const sid = await createTask({ from: vip.phone });

      const response = await postForm(h, WEBHOOK, taskCreatedEvent(h, sid, '{}'), signature);
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: { code: 'FORBIDDEN', message: expect.any(String) } });
      await everyEarlierJobRan();
      expect(fetchesOf(sid)).toHaveLength(0);
      expect(h.sandbox.data.task(sid)?.updates).toHaveLength(0);
    });

    it('refuses a signature made for another URL (the Host header does not count)', async () => {
      const sid = await createTask({ from: vip.phone });
      const event = taskCreatedEvent(h, sid, '{}');
      const forOtherUrl = { ...h, config: { ...h.config, publicBaseUrl: h.url } };

      expect((await postForm(forOtherUrl, WEBHOOK, event)).status).toBe(403);
    });

    it('enqueues duplicate deliveries once', async () => {
      const sid = await createTask({ from: vip.phone, foreign_key: 'x' });
      const event = taskCreatedEvent(h, sid, '{}');

      const answers = await Promise.all([announce(sid, event), announce(sid, event), announce(sid, { ...event, Sid: `${event.Sid.slice(0, -1)}0` })]);
      expect(answers.map((r) => r.status)).toEqual([204, 204, 204]);
      await stamped(sid);
      // A second job would have read the task again, even if only to find it stamped.
      await everyEarlierJobRan();
      expect(fetchesOf(sid)).toHaveLength(1);
      expect(h.sandbox.data.task(sid)?.updates).toHaveLength(1);
    });

    it('keeps an update made by someone else between our read and our write (412, read again, merge again)', async () => {
      const sid = await createTask({ from: vip.phone, foreign_key: 'keep-me' });
      h.sandbox.faults.add({ service: 'twilio', route: 'task_update', latencyMs: 2_500, times: 1 });

      expect((await announce(sid)).status).toBe(204);
      // Our write is on its way, carrying the ETag of version 0; someone else writes first.
      await eventually(
        () => h.sandbox.calls.log(),
        (log) => log.some((c) => c.route === 'task_update' && c.path.includes(sid) && c.status === 0),
      );
      await taskRouter(h)
        .tasks(sid)
        .update({ attributes: JSON.stringify({ from: vip.phone, foreign_key: 'keep-me', added_meanwhile: 'wrap-up notes' }) });

      const task = await stamped(sid);
      expect(task.attributes).toMatchObject({ foreign_key: 'keep-me', added_meanwhile: 'wrap-up notes', customer_context: { vip: true } });
      expect(task.updates.map((u) => u.ifMatch)).toEqual([null, '1']);
      // In order of arrival: ours (answered 412 after the hold), theirs, ours again.
      const writes = h.sandbox.calls.log().filter((c) => c.route === 'task_update' && c.path.includes(sid));
      expect(writes.map((c) => c.status)).toEqual([412, 200, 200]);
    });

    it('does not stamp a task that already carries the namespace', async () => {
      const sid = await createTask({ from: vip.phone, customer_context: { set_by: 'studio' } });

      expect((await announce(sid)).status).toBe(204);
      await eventually(
        () => fetchesOf(sid),
        (fetches) => fetches.length === 1 && fetches[0].status === 200,
      );
      await everyEarlierJobRan();
      expect(h.sandbox.data.task(sid)?.updates).toHaveLength(0);
      expect(stampOf(sid)).toEqual({ set_by: 'studio' });
    });

    it('stamps the defaults for an unknown customer', async () => {
      const sid = await createTask({ from: h.sandbox.data.unknownPhone(), channelType: 'sms' });

      expect((await announce(sid)).status).toBe(204);
      await stamped(sid);
      expect(stampOf(sid)).toMatchObject({ known_customer: false, vip: false, tier: 'standard', language: 'en' });
      expect(stampOf(sid)).not.toHaveProperty('degraded');
    });

    it('stamps the defaults for malformed attributes and a malformed TaskAttributes, without crashing', async () => {
      const sid = await createTask({ from: 12345, customers: 'crm-42', email: ['not', 'a', 'string'] });
      const event = taskCreatedEvent(h, sid, '{not json');

      expect((await announce(sid, event)).status).toBe(204);
      const task = await stamped(sid);
      expect(task.attributes).toMatchObject({ from: 12345, customers: 'crm-42', email: ['not', 'a', 'string'] });
      expect(stampOf(sid)).toMatchObject({ known_customer: false, tier: 'standard' });
      expect((await h.gql('{ __typename }')).status).toBe(200);
    });

    it('stamps the defaults, degraded, when Segment is down', async () => {
      const customer = h.sandbox.data.customers.find((c) => c.archetype === 'regular' && c.phone)!;
      h.sandbox.faults.add({ service: 'segment', status: 503 });
      const sid = await createTask({ from: customer.phone, foreign_key: 'kept' });

      expect((await announce(sid)).status).toBe(204);
      const task = await stamped(sid);
      expect(task.attributes.foreign_key).toBe('kept');
      // Stamped once Segment's failure was known, not at the job deadline.
      expect(stampOf(sid)).toMatchObject({ known_customer: false, vip: false, degraded: true, degraded_reason: expect.stringContaining('segment') });
      expect(stampOf(sid)?.degraded_reason).not.toMatch(/deadline/);
    });

    it('answers 400 to a body that is no TaskRouter event', async () => {
      expect((await postForm(h, WEBHOOK, { Hello: 'world' })).status).toBe(400);
      expect((await postForm(h, WEBHOOK, { EventType: 'task.created', TaskSid: 'WT-not-a-sid' })).status).toBe(400);
    });
  });

  describe('enrichTask', () => {
    const ENRICH = /* GraphQL */ `
      mutation Enrich($sid: ID!) { enrichTask(taskSid: $sid) { attributes matchedRules stamped degraded explanations { rule matched } } }`;
    type Answer = {
      enrichTask: { attributes: Record<string, Stamp>; matchedRules: string[]; stamped: boolean; degraded: boolean; explanations: Array<{ rule: string }> };
    };

    it('stamps a task through the same path as the workers, once', async () => {
      const sid = await createTask({ from: vip.phone, foreign_key: 'kept' });

      const first = await h.gql<Answer>(ENRICH, { sid });
      expect(first.errors).toBeUndefined();
      expect(first.data?.enrichTask).toMatchObject({ stamped: true, degraded: false, attributes: { customer_context: { vip: true } } });
      expect(first.data?.enrichTask.matchedRules).toContain('vip');
      expect(h.sandbox.data.task(sid)?.attributes).toMatchObject({ foreign_key: 'kept', customer_context: { vip: true } });

      const again = await h.gql<Answer>(ENRICH, { sid });
      expect(again.data?.enrichTask).toMatchObject({ stamped: false, matchedRules: [], attributes: { customer_context: { vip: true } } });
      expect(h.sandbox.data.task(sid)?.updates).toHaveLength(1);
    });

    it('answers NOT_FOUND for an unknown task and BAD_REQUEST for a malformed sid', async () => {
      const unknown = await h.gql(ENRICH, { sid: `WT${'0'.repeat(32)}` });
      expect(unknown.errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const malformed = await h.gql(ENRICH, { sid: 'nope' });
      expect(malformed.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    });
  });

  describe('routingPreview', () => {
    const PREVIEW = /* GraphQL */ `
      query Preview($lookup: CustomerLookupInput!, $task: JSON) {
        routingPreview(lookup: $lookup, taskAttributes: $task) { attributes matchedRules degraded explanations { rule matched reason error } }
      }`;
    type Answer = {
      routingPreview: {
        attributes: Record<string, Stamp>;
        matchedRules: string[];
        degraded: boolean;
        explanations: Array<{ rule: string; matched: boolean; reason: string; error: string | null }>;
      };
    };

    it('explains every rule, matched or not, and writes nothing', async () => {
      const before = h.sandbox.data.taskUpdates().length;
      const result = await h.gql<Answer>(PREVIEW, { lookup: { phone: vip.phone }, task: { channelType: 'voice' } });

      expect(result.errors).toBeUndefined();
      const preview = result.data!.routingPreview;
      expect(preview.attributes.customer_context).toMatchObject({ vip: true, tier: 'gold' });
      expect(preview.explanations.map((e) => e.rule)).toEqual(expect.arrayContaining(['known_customer', 'vip', 'churn_risk', '(insights)']));
      expect(preview.explanations.find((e) => e.rule === 'vip')).toMatchObject({ matched: true, reason: 'when is true', error: null });
      const unmatched = preview.explanations.filter((e) => !e.matched);
      expect(unmatched.length).toBeGreaterThan(0);
      expect(unmatched.every((e) => e.reason.length > 0)).toBe(true);
      expect(preview.matchedRules).toEqual(preview.explanations.filter((e) => e.matched && e.rule !== '(insights)').map((e) => e.rule));
      expect(h.sandbox.data.taskUpdates().length).toBe(before);
    });

    it('reads the task attributes: a Spanish WhatsApp customer routes to Spanish', async () => {
      const result = await h.gql<Answer>(PREVIEW, { lookup: { address: `whatsapp:${spanish.phone}` } });
      expect(result.data?.routingPreview.attributes.customer_context).toMatchObject({ language: 'es' });
    });

    it('refuses taskAttributes that are not an object', async () => {
      const result = await h.gql(PREVIEW, { lookup: { phone: vip.phone }, task: [1, 2] });
      expect(result.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    });
  });

  describe('POST /routing/attributes', () => {
    type Answer = { attributes: Record<string, Stamp>; matchedRules: string[] };

    it('answers a signed JSON body with the attributes and the matched rules', async () => {
      const response = await postJson(h, ATTRIBUTES, { from: vip.phone, channelType: 'sms' });
      expect(response.status).toBe(200);
      const body = (await response.json()) as Answer;
      expect(body.attributes.customer_context).toMatchObject({ vip: true, tier: 'gold' });
      expect(body.attributes.customers).toMatchObject({ customer_label_2: 'gold' });
      expect(body.matchedRules).toContain('vip');
      expect(Object.keys(body).sort()).toEqual(['attributes', 'matchedRules']);
    });

    it('answers a signed form with TaskAttributes as a JSON string, and with flat fields', async () => {
      const embedded = await postForm(h, ATTRIBUTES, { TaskAttributes: JSON.stringify({ from: `whatsapp:${spanish.phone}` }) });
      expect(embedded.status).toBe(200);
      expect(((await embedded.json()) as Answer).attributes.customer_context).toMatchObject({ language: 'es' });

      const flat = await postForm(h, ATTRIBUTES, { from: vip.phone!, channelType: 'voice' });
      expect(((await flat.json()) as Answer).attributes.customer_context).toMatchObject({ vip: true });
    });

    it('answers the defaults to a malformed TaskAttributes', async () => {
      const response = await postForm(h, ATTRIBUTES, { TaskAttributes: '{oops' });
      expect(response.status).toBe(200);
      expect(((await response.json()) as Answer).attributes.customer_context).toMatchObject({ known_customer: false, tier: 'standard' });
    });

    it('refuses unsigned and tampered requests with 403', async () => {
      expect((await postForm(h, ATTRIBUTES, { from: vip.phone! }, null)).status).toBe(403);
      // A valid signature for one JSON body, sent with another: the body's hash no longer matches.
      const signedBody = JSON.stringify({ from: h.sandbox.data.unknownPhone() });
      const path = `${ATTRIBUTES}?bodySHA256=${createHash('sha256').update(signedBody).digest('hex')}`;
      const signature = getExpectedTwilioSignature(h.config.twilio.authToken, `${h.config.publicBaseUrl}${path}`, {});
      const tampered = await fetch(`${h.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-twilio-signature': signature },
        body: JSON.stringify({ from: vip.phone }),
      });
      expect(tampered.status).toBe(403);
      const honest = await fetch(`${h.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-twilio-signature': signature },
        body: signedBody,
      });
      expect(honest.status).toBe(200);
    });
  });
});

describe('routing deadlines (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    // Segment never answers, and the upstream timeout is far beyond the deadlines.
    h = await startHarness({
      sandbox: { customers: 20 },
      env: { PUBLIC_BASE_URL, UPSTREAM_TIMEOUT_MS: '20000', ENRICHMENT_JOB_DEADLINE_MS: '1000', ROUTING_DEADLINE_MS: '1000' },
    });
    h.sandbox.faults.add({ service: 'segment', timeout: true });
  });
  afterAll(() => h.close());

  it('stamps the defaults with degraded: true once the job deadline passes', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const sid = (await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: vip.phone, foreign_key: 'kept' }) })).sid;

    expect((await postForm(h, WEBHOOK, taskCreatedEvent(h, sid, '{}'))).status).toBe(204);
    const task = await eventually(
      () => h.sandbox.data.task(sid)!,
      (t) => t.attributes.customer_context !== undefined,
    );
    // Segment never answers and its timeout is 20 s: a stamp that names the deadline came by it.
    expect(task.attributes).toMatchObject({
      foreign_key: 'kept',
      customer_context: { vip: false, known_customer: false, degraded: true, degraded_reason: expect.stringContaining('deadline') },
    });
  });

  it('answers /routing/attributes with the defaults and degraded: true by ROUTING_DEADLINE_MS', async () => {
    const response = await postJson(h, ATTRIBUTES, { from: h.sandbox.data.byArchetype('vip').phone });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { attributes: Record<string, Stamp> };
    // Segment never answers and its timeout is 20 s: an answer that names the deadline came by it.
    expect(body.attributes.customer_context).toMatchObject({ vip: false, degraded: true, degraded_reason: expect.stringContaining('deadline') });
  });
});

describe('routing dead letters (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({
      sandbox: { customers: 10 },
      env: {
        PUBLIC_BASE_URL,
        ENRICHMENT_MAX_ATTEMPTS: '2',
        ENRICHMENT_CLAIM_IDLE_MS: '300',
        UPSTREAM_RETRIES: '0',
        UPSTREAM_TIMEOUT_MS: '5000',
        REDIS_COMMAND_TIMEOUT_MS: '2000',
      },
    });
  });
  afterAll(() => h.close());

  it('moves a job to the dead letters after ENRICHMENT_MAX_ATTEMPTS failing attempts, and lists it', async () => {
    const sid = (await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: h.sandbox.data.unknownPhone() }) })).sid;
    // Each attempt outlasts ENRICHMENT_CLAIM_IDLE_MS (300): a running attempt is never claimed back and counted twice.
    h.sandbox.faults.add({ service: 'twilio', route: 'task_update', status: 500, latencyMs: 700 });

    expect((await postForm(h, WEBHOOK, taskCreatedEvent(h, sid, '{}'))).status).toBe(204);
    type Answer = {
      enrichmentDeadLetters: { totalCount: number; durable: boolean; items: Array<{ taskSid: string; attempts: number; error: string; failedAt: string }> };
    };
    const query = '{ enrichmentDeadLetters(first: 5) { totalCount durable items { taskSid attempts error failedAt } } }';
    const answer = await eventually(
      () => h.gql<Answer>(query),
      (r) => (r.data?.enrichmentDeadLetters.totalCount ?? 0) > 0,
    );

    expect(answer.data?.enrichmentDeadLetters).toMatchObject({
      totalCount: 1,
      durable: true,
      items: [{ taskSid: sid, attempts: 2, error: expect.stringContaining('500') }],
    });
    expect(h.sandbox.calls.count({ service: 'twilio', route: 'task_update' })).toBe(2);
    expect(h.sandbox.data.task(sid)?.updates).toHaveLength(0);
  });
});

describe('routing without Redis (e2e)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ redis: false, sandbox: { customers: 10 }, env: { PUBLIC_BASE_URL } });
  });
  afterAll(() => h.close());

  it('stamps tasks through the in-process queue, deduplicated', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const sid = (await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: vip.phone }) })).sid;
    const event = taskCreatedEvent(h, sid, '{}');

    expect((await postForm(h, WEBHOOK, event)).status).toBe(204);
    expect((await postForm(h, WEBHOOK, event)).status).toBe(204);
    const task = await eventually(
      () => h.sandbox.data.task(sid)!,
      (t) => t.attributes.customer_context !== undefined,
    );
    expect(task.attributes.customer_context).toMatchObject({ vip: true });
    const answer = await h.gql<{ enrichmentDeadLetters: { durable: boolean } }>('{ enrichmentDeadLetters { durable } }');
    expect(answer.data?.enrichmentDeadLetters.durable).toBe(false);
  });
});
