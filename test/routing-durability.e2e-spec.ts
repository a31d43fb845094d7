import Redis from 'ioredis';
import { loadConfig } from '../src/config/config';
import { CONSUMER_GROUP, queueKeys } from '../src/routing/enrichment/queue-keys';
import { TaskEnricher } from '../src/routing/enrichment/task-enricher';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { sandboxConfig } from '../src/sandbox/sandbox-config';
import { startHarness, type Harness } from './support/harness';
import { eventually, postForm, PUBLIC_BASE_URL, taskCreatedEvent, taskRouter } from './support/twilio-callers';

/**
 * The enrichment queue across instances: two apps on one Redis (one key prefix) and one sandbox.
 * A job survives the instance that took it, whether that instance shut down or died.
 */

describe('enrichment queue durability (e2e)', () => {
  let sandbox: Sandbox;
  let redis: Redis;
  let keyPrefix: string;
  const running: Harness[] = [];
  let run = 0;

  beforeAll(async () => {
    sandbox = await startSandbox({ quiet: true, customers: 10 });
    redis = new Redis(process.env.TEST_REDIS_URL as string);
  });
  afterAll(async () => {
    redis.disconnect();
    await sandbox.close();
  });
  beforeEach(() => {
    keyPrefix = `tdur${process.pid}x${++run}x${Date.now() % 100000}:`;
    sandbox.faults.clear();
    sandbox.calls.reset();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((h) => h.close()));
  });

  const start = async (env: Record<string, string>) => {
    // Long upstream timeouts: a held TaskRouter read must stay in flight, not time out and retry.
    const h = await startHarness({ sandbox, keyPrefix, env: { PUBLIC_BASE_URL, UPSTREAM_TIMEOUT_MS: '20000', ...env } });
    running.push(h);
    return h;
  };
  const stop = async (h: Harness) => {
    running.splice(running.indexOf(h), 1);
    await h.close();
  };
  const vipTask = async () => {
    const attributes = { from: sandbox.data.byArchetype('vip').phone, foreign_key: 'kept' };
    return (await taskRouter({ config: sandboxConfig(loadConfig({}), sandbox) }).tasks.create({ attributes: JSON.stringify(attributes) })).sid;
  };
  const readsOf = (sid: string) => sandbox.calls.log().filter((c) => c.route === 'task' && c.path.includes(sid));
  const stamped = (sid: string) =>
    eventually(
      () => sandbox.data.task(sid)!,
      (t) => t.attributes.customer_context !== undefined,
      15_000,
    );
  /** A job taken by an instance that then died, before any other instance runs. */
  const takenByDeadInstance = async (taskSid: string) => {
    const keys = queueKeys(keyPrefix);
    await redis.xgroup('CREATE', keys.jobs, CONSUMER_GROUP, '0', 'MKSTREAM');
    await redis.xadd(keys.jobs, '*', 'job', JSON.stringify({ taskSid, eventSid: null, enqueuedAt: new Date().toISOString() }));
    const taken = await redis.xreadgroup('GROUP', CONSUMER_GROUP, 'dead-instance', 'COUNT', 10, 'STREAMS', keys.jobs, '>');
    expect(taken).not.toBeNull();
  };
  /** The enrichment attempts an instance starts, as they run. */
  const attemptsOf = (h: Harness) => {
    const attempts: Array<Promise<unknown>> = [];
    const enricher = h.app.get(TaskEnricher);
    const enrich = enricher.enrich.bind(enricher);
    jest.spyOn(enricher, 'enrich').mockImplementation((...args) => {
      const attempt = enrich(...args);
      attempts.push(attempt);
      return attempt;
    });
    return attempts;
  };
  const pendingCount = async () => Number(((await redis.xpending(queueKeys(keyPrefix).jobs, CONSUMER_GROUP)) as [number])[0]);

  it('an instance stopped in the middle of a job releases it, and another instance stamps the task once', async () => {
    const a = await start({ ENRICHMENT_SHUTDOWN_GRACE_MS: '100' });
    const attempts = attemptsOf(a);
    const sid = await vipTask();
    sandbox.faults.add({ service: 'twilio', route: 'task', latencyMs: 2_500, times: 1 });

    expect((await postForm(a, '/webhooks/taskrouter', taskCreatedEvent(a, sid, '{}'))).status).toBe(204);
    await eventually(
      () => readsOf(sid),
      (reads) => reads.length === 1 && reads[0].status === 0,
    );
    await stop(a);

    const b = await start({ ENRICHMENT_CLAIM_IDLE_MS: '1000' });
    const task = await stamped(sid);
    expect(task.attributes).toMatchObject({ foreign_key: 'kept', customer_context: { vip: true } });
    // A's read comes back after all; its job was aborted and must write nothing.
    await eventually(
      () => readsOf(sid),
      (reads) => reads[0].status !== 0,
    );
    await eventually(pendingCount, (n) => n === 0);
    // A's attempt has ended, so whatever it was going to write it has written: only B's stamp landed.
    expect(attempts).toHaveLength(1);
    await Promise.allSettled(attempts);
    expect(sandbox.data.task(sid)?.updates).toHaveLength(1);
    // Nor did A try to: the one write TaskRouter saw is B's.
    expect(sandbox.calls.log().filter((c) => c.method === 'POST' && c.path.includes(sid))).toHaveLength(1);
    expect(b.url).not.toBe(a.url);
  });

  it('an instance stopping finishes the job in flight within the grace period, and nobody runs it again', async () => {
    const a = await start({ ENRICHMENT_SHUTDOWN_GRACE_MS: '10000' });
    const sid = await vipTask();
    sandbox.faults.add({ service: 'twilio', route: 'task', latencyMs: 1_000, times: 1 });

    expect((await postForm(a, '/webhooks/taskrouter', taskCreatedEvent(a, sid, '{}'))).status).toBe(204);
    await eventually(
      () => readsOf(sid),
      (reads) => reads.length === 1,
    );
    await stop(a);
    expect(sandbox.data.task(sid)?.updates).toHaveLength(1);
    // Acknowledged and deleted before A stopped: nothing is left that any instance could run again.
    expect(await pendingCount()).toBe(0);
    expect(await redis.xlen(queueKeys(keyPrefix).jobs)).toBe(0);

    await start({ ENRICHMENT_CLAIM_IDLE_MS: '300' });
    expect(readsOf(sid)).toHaveLength(1);
  });

  it('the job of an instance that died is claimed by another once idle, and the task stamped once', async () => {
    const sid = await vipTask();
    await takenByDeadInstance(sid);
    await start({ ENRICHMENT_CLAIM_IDLE_MS: '500' });

    const task = await stamped(sid);
    expect(task.attributes).toMatchObject({ foreign_key: 'kept', customer_context: { vip: true } });
    await eventually(pendingCount, (n) => n === 0);
    expect(task.updates).toHaveLength(1);
  });

  it('a job interrupted on its last attempt goes to the dead letters, untouched', async () => {
    const sid = await vipTask();
    await takenByDeadInstance(sid);
    const b = await start({ ENRICHMENT_CLAIM_IDLE_MS: '300', ENRICHMENT_MAX_ATTEMPTS: '1' });

    type Answer = { enrichmentDeadLetters: { totalCount: number; items: Array<{ taskSid: string; attempts: number; error: string }> } };
    const answer = await eventually(
      () => b.gql<Answer>('{ enrichmentDeadLetters { totalCount items { taskSid attempts error } } }'),
      (r) => r.data?.enrichmentDeadLetters.totalCount === 1,
    );
    expect(answer.data?.enrichmentDeadLetters.items).toEqual([{ taskSid: sid, attempts: 1, error: expect.stringContaining('interrupted') }]);
    expect(readsOf(sid)).toHaveLength(0);
    expect(await pendingCount()).toBe(0);
  });
});
