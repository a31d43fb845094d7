import Redis from 'ioredis';
import { eventually } from '../../../test/support/eventually';
import type { EnrichmentJob } from './enrichment-queue';
import { CONSUMER_GROUP, queueKeys } from './queue-keys';
import { RedisEnrichmentQueue } from './redis-enrichment-queue';

const job = (taskSid: string): EnrichmentJob => ({ taskSid, eventSid: 'EV1', enqueuedAt: '2025-06-15T12:00:00.000Z' });

/** Against the test run's real redis-server: the stream commands are the point. */
describe(RedisEnrichmentQueue.name, () => {
  const clients: Redis[] = [];
  let prefix: string;
  let run = 0;

  const client = () => {
    const redis = new Redis(process.env.TEST_REDIS_URL as string);
    clients.push(redis);
    return redis;
  };
  const queue = (
    consumer: string,
    overrides: Partial<{ maxAttempts: number; claimIdleMs: number; dedupeTtlMs: number; blockMs: number }> = {},
    reader = client(),
  ) =>
    new RedisEnrichmentQueue(client(), reader, {
      maxAttempts: 2,
      claimIdleMs: 100,
      dedupeTtlMs: 60_000,
      keyPrefix: prefix,
      consumer,
      blockMs: 50,
      ...overrides,
    });
  /** Takes until something comes (the claim sweep runs on its own schedule). */
  const takeSome = async (q: RedisEnrichmentQueue, max = 10) => {
    for (let i = 0; i < 100; i++) {
      const taken = await q.take(max);
      if (taken.length > 0) return taken;
    }
    throw new Error('nothing to take');
  };

  beforeEach(() => {
    prefix = `tq${process.pid}x${++run}x${Date.now() % 100000}:`;
  });
  afterEach(() => {
    for (const redis of clients.splice(0)) redis.disconnect();
  });

  it('keeps every key under one hash tag, so it works on Redis Cluster', () => {
    const keys = queueKeys('cc:');
    const tag = (key: string) => /\{([^}]*)\}/.exec(key)?.[1];
    expect(new Set([keys.jobs, keys.dead, keys.seen('task:WT1')].map(tag))).toEqual(new Set(['enrichment']));
  });

  it('enqueues a dedupe key once', async () => {
    const q = queue('a');
    expect(await q.enqueue(job('WT1'), 'task:WT1')).toBe(true);
    expect(await q.enqueue(job('WT1'), 'task:WT1')).toBe(false);
    expect(await client().xlen(queueKeys(prefix).jobs)).toBe(1);
  });

  it('hands out jobs enqueued before any worker ran, and forgets them once complete', async () => {
    const q = queue('a');
    await q.enqueue(job('WT1'), 'task:WT1');

    const [delivery] = await takeSome(q);
    expect(delivery).toMatchObject({ job: job('WT1'), attempt: 1 });
    await q.complete(delivery);

    const redis = client();
    expect(await redis.xlen(queueKeys(prefix).jobs)).toBe(0);
    expect(((await redis.xpending(queueKeys(prefix).jobs, CONSUMER_GROUP)) as [number])[0]).toBe(0);
  });

  it('says how many jobs wait, are pending and are dead, and when the oldest was enqueued', async () => {
    const q = queue('a', { maxAttempts: 1 });
    expect(await q.depth()).toEqual({ waiting: 0, pending: 0, deadLetters: 0, oldestEnqueuedAt: null });
    const before = Date.now();
    await q.enqueue(job('WT1'), 'task:WT1');
    await q.enqueue(job('WT2'), 'task:WT2');
    expect(await q.depth()).toMatchObject({ waiting: 2, pending: 0, deadLetters: 0 });
    const [first] = await takeSome(q, 1);
    const depth = await q.depth();
    expect(depth).toMatchObject({ waiting: 1, pending: 1, deadLetters: 0 });
    expect(depth.oldestEnqueuedAt).toBeGreaterThanOrEqual(before - 5);
    await q.fail(first, 'boom');
    const [second] = await takeSome(q, 1);
    await q.complete(second);
    expect(await q.depth()).toEqual({ waiting: 0, pending: 0, deadLetters: 1, oldestEnqueuedAt: null });
  });

  it('hands a failed job out again once idle, as attempt 2, then dead-letters it', async () => {
    const a = queue('a');
    const b = queue('b');
    await a.enqueue(job('WT1'), 'task:WT1');
    const [first] = await takeSome(a);
    await a.fail(first, 'boom 1');

    const [second] = await takeSome(b);
    expect(second).toMatchObject({ id: first.id, attempt: 2 });
    await b.fail(second, 'boom 2');

    expect(await b.deadLetters(10)).toEqual({
      total: 1,
      items: [{ id: first.id, job: job('WT1'), attempts: 2, error: 'boom 2', failedAt: expect.any(String) }],
    });
    expect(await client().xlen(queueKeys(prefix).jobs)).toBe(0);
  });

  it('never claims back a job its own worker is still on, however long the attempt takes', async () => {
    const a = queue('a', { claimIdleMs: 100 });
    await a.enqueue(job('WT1'), 'task:WT1');
    const [first] = await takeSome(a);

    // The attempt runs for several claim-idle times while the worker keeps taking (and sweeping).
    const handedOut: string[] = [];
    const until = Date.now() + 500;
    while (Date.now() < until) handedOut.push(...(await a.take(10)).map((d) => d.id));
    expect(handedOut).toEqual([]);

    await a.fail(first, 'boom 1');
    const [second] = await takeSome(queue('b', { claimIdleMs: 100 }));
    expect(second).toMatchObject({ id: first.id, attempt: 2 });
  });

  it('lets another consumer take a released job at once, without waiting for the claim-idle time', async () => {
    const a = queue('a', { claimIdleMs: 60_000 });
    const b = queue('b', { claimIdleMs: 60_000 });
    await a.enqueue(job('WT1'), 'task:WT1');
    const [first] = await takeSome(a);

    await a.release(first);
    const [again] = await b.take(10);
    expect(again).toMatchObject({ id: first.id, attempt: 2 });
  });

  /** What the group's pending list says of one consumer's jobs: [id, consumer, idle ms, deliveries]. */
  const pendingOf = async (consumer: string) =>
    (await client().xpending(queueKeys(prefix).jobs, CONSUMER_GROUP, '-', '+', 10, consumer)) as Array<[string, string, number, number]>;

  it('keeps renewing the jobs its workers are on while it takes nothing (every worker busy)', async () => {
    const a = queue('a', { claimIdleMs: 1_000 });
    await a.enqueue(job('WT1'), 'task:WT1');
    const [first] = await takeSome(a);
    // No take from here on, so no sweep: the job's idle time must still drop back, twice.
    let renewals = 0;
    let last = (await pendingOf('a'))[0][2];
    await eventually(
      async () => {
        const idle = (await pendingOf('a'))[0][2];
        if (idle < last) renewals += 1;
        last = idle;
        return renewals;
      },
      (n) => n >= 2,
      10_000,
      'two renewals without a take',
    );
    // Just renewed: another instance's claim sweep finds it not idle long enough.
    expect(await queue('b', { claimIdleMs: 1_000 }).take(10)).toEqual([]);
    await a.complete(first);
  });

  it('hands out a job whose read reply was lost to a command timeout, at once and as the same attempt', async () => {
    // The reader gives up on a read long before Redis answers it; Redis delivers all the same.
    const reader = new Redis(process.env.TEST_REDIS_URL as string, { commandTimeout: 100 });
    clients.push(reader);
    const a = queue('a', { claimIdleMs: 60_000, blockMs: 2_000 }, reader);
    await expect(a.take(10)).rejects.toThrow(/timed out/);
    // Enqueued while Redis still holds the blocked read: it is delivered to that read, whose reply nobody waits for.
    await a.enqueue(job('WT1'), 'task:WT1');
    const [lost] = await eventually(
      () => pendingOf('a'),
      (pending) => pending.length === 1,
      5_000,
      'the job delivered to the abandoned read',
    );
    expect(lost[3]).toBe(1);
    // Handed out by the next take, long before the claim-idle time would let a sweep find it.
    const [delivery] = await a.take(10);
    expect(delivery).toMatchObject({ id: lost[0], job: job('WT1'), attempt: 1 });
    // Handed out once: not again while its attempt runs, nor after it failed (left for the claim
    // sweep). Each read times out, so each next take looks for lost replies again.
    await expect(a.take(10)).rejects.toThrow(/timed out/);
    expect(await a.take(10).catch(() => [])).toEqual([]);
    await a.fail(delivery, 'boom');
    await expect(a.take(10)).rejects.toThrow(/timed out/);
    expect(await a.take(10).catch(() => [])).toEqual([]);
  });
});
