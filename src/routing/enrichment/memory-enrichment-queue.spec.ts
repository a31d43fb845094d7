import type { EnrichmentJob } from './enrichment-queue';
import { MemoryEnrichmentQueue } from './memory-enrichment-queue';

const job = (taskSid: string): EnrichmentJob => ({ taskSid, eventSid: null, enqueuedAt: '2025-06-15T12:00:00.000Z' });

describe(MemoryEnrichmentQueue.name, () => {
  const settings = { maxAttempts: 2, claimIdleMs: 20, dedupeTtlMs: 60_000 };

  // The queue's clock (Date.now, its retry and idle timers) moves only when a test moves it.
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2025-06-15T12:00:00.000Z') }));
  afterEach(() => jest.useRealTimers());

  it('enqueues a dedupe key once, and hands jobs out in order', async () => {
    const queue = new MemoryEnrichmentQueue(settings);
    expect(await queue.enqueue(job('WT1'), 'task:WT1')).toBe(true);
    expect(await queue.enqueue(job('WT1'), 'task:WT1')).toBe(false);
    expect(await queue.enqueue(job('WT2'), 'task:WT2')).toBe(true);

    const taken = await queue.take(10);
    expect(taken.map((d) => [d.job.taskSid, d.attempt])).toEqual([
      ['WT1', 1],
      ['WT2', 1],
    ]);
  });

  it('says how many jobs wait, are pending (in flight or waiting for a retry) and are dead', async () => {
    const queue = new MemoryEnrichmentQueue({ ...settings, maxAttempts: 2 });
    expect(await queue.depth()).toEqual({ waiting: 0, pending: 0, deadLetters: 0, oldestEnqueuedAt: null });
    await queue.enqueue(job('WT1'), 'task:WT1');
    await queue.enqueue(job('WT2'), 'task:WT2');
    expect(await queue.depth()).toEqual({ waiting: 2, pending: 0, deadLetters: 0, oldestEnqueuedAt: Date.parse(job('WT1').enqueuedAt) });
    const [first, second] = await queue.take(10);
    await queue.complete(second);
    await queue.fail(first, 'boom');
    expect(await queue.depth()).toMatchObject({ waiting: 0, pending: 1, deadLetters: 0 });
    const retrying = queue.take(10);
    await jest.advanceTimersByTimeAsync(settings.claimIdleMs);
    const [retry] = await retrying;
    await queue.fail(retry, 'boom again');
    expect(await queue.depth()).toEqual({ waiting: 0, pending: 0, deadLetters: 1, oldestEnqueuedAt: null });
  });

  it('forgets a dedupe key after its TTL', async () => {
    const queue = new MemoryEnrichmentQueue({ ...settings, dedupeTtlMs: 10 });
    await queue.enqueue(job('WT1'), 'task:WT1');
    jest.advanceTimersByTime(9);
    expect(await queue.enqueue(job('WT1'), 'task:WT1')).toBe(false);
    jest.advanceTimersByTime(1);
    expect(await queue.enqueue(job('WT1'), 'task:WT1')).toBe(true);
  });

  it('retries a failed job after the claim-idle time, then dead-letters it after the last attempt', async () => {
    const queue = new MemoryEnrichmentQueue(settings);
    await queue.enqueue(job('WT1'), 'task:WT1');

    const [first] = await queue.take(1);
    await queue.fail(first, 'boom 1');
    // Not before the claim-idle time: a take now waits, and finds nothing until the retry is due.
    const early = queue.take(1);
    await jest.advanceTimersByTimeAsync(settings.claimIdleMs - 1);
    expect(await queue.depth()).toMatchObject({ waiting: 0, pending: 1 });
    await jest.advanceTimersByTimeAsync(1);
    const [second] = await early;
    expect(second).toMatchObject({ id: first.id, attempt: 2 });
    await queue.fail(second, 'boom 2');

    expect(await queue.deadLetters(10)).toEqual({
      total: 1,
      items: [{ id: first.id, job: job('WT1'), attempts: 2, error: 'boom 2', failedAt: expect.any(String) }],
    });
  });

  it('hands a released job out again at once, counting the interrupted attempt', async () => {
    const queue = new MemoryEnrichmentQueue(settings);
    await queue.enqueue(job('WT1'), 'task:WT1');
    const [first] = await queue.take(1);

    await queue.release(first);
    expect(await queue.take(1)).toEqual([{ ...first, attempt: 2 }]);
  });

  it('wakes a waiting take when a job arrives', async () => {
    const queue = new MemoryEnrichmentQueue(settings);
    const waiting = queue.take(1);
    // The clock stands still, so only the job's arrival can end the wait (not the idle timeout).
    await queue.enqueue(job('WT1'), 'task:WT1');
    expect((await waiting).map((d) => d.job.taskSid)).toEqual(['WT1']);
    expect(jest.getTimerCount()).toBe(0);
  });
});
