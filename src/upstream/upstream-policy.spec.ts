import { ErrorCode, UpstreamError } from '../common/errors';
import { upstreamPolicy } from './upstream-policy';

/** An attempt that never answers: it ends only when the policy's timeout aborts it. */
const hangs = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError'))));

/** What a call settled with so far (`pending` until then), without waiting for it. */
function watch(call: Promise<unknown>): { outcome: unknown } {
  const seen: { outcome: unknown } = { outcome: 'pending' };
  call.then(
    (value) => (seen.outcome = value),
    (error: unknown) => (seen.outcome = error),
  );
  return seen;
}

const timedOut = expect.objectContaining({ code: ErrorCode.UPSTREAM_TIMEOUT });

describe('upstreamPolicy', () => {
  it('retries an attempt that timed out, as it retries a 5xx', async () => {
    const policy = upstreamPolicy({ source: 'segment', timeoutMs: 20, deadlineMs: 1_000, retries: 2, backoffMs: 1 });
    let attempts = 0;
    const answer = await policy.execute(async (signal) => (++attempts === 1 ? hangs(signal) : 'answered'));
    expect(answer).toBe('answered');
    expect(attempts).toBe(2);
  });

  it('fails with UPSTREAM_TIMEOUT once every attempt timed out, each one having spent its turn', async () => {
    const before: number[] = [];
    const policy = upstreamPolicy({
      source: 'segment',
      timeoutMs: 20,
      deadlineMs: 1_000,
      retries: 2,
      backoffMs: 1,
      beforeAttempt: async () => void before.push(1),
    });
    let attempts = 0;
    const failure = await policy.execute(async (signal) => (++attempts, hangs(signal))).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).code).toBe(ErrorCode.UPSTREAM_TIMEOUT);
    expect(attempts).toBe(3);
    expect(before).toHaveLength(3);
  });

  describe('under one deadline for the whole call', () => {
    // Fake time: cockatiel's timers move only when the test moves them.
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => {
      jest.useRealTimers();
      jest.restoreAllMocks();
    });

    it('stops attempts that keep timing out at the deadline, aborting the one in flight, and starts none after it', async () => {
      const policy = upstreamPolicy({ source: 'segment', timeoutMs: 1_000, deadlineMs: 2_500, retries: 10, backoffMs: 1 });
      const attempts: AbortSignal[] = [];
      const call = watch(policy.execute((signal) => (attempts.push(signal), hangs(signal))));

      await jest.advanceTimersByTimeAsync(2_500);
      expect(call.outcome).toEqual(timedOut);
      // Two attempts timed out; the third was cut short by the deadline (the backoff is ~1 ms).
      expect(attempts).toHaveLength(3);
      expect(attempts.every((signal) => signal.aborted)).toBe(true);

      await jest.advanceTimersByTimeAsync(60_000);
      expect(attempts).toHaveLength(3);
    });

    it('starts no attempt once the deadline passed during a backoff', async () => {
      // cockatiel's jitter, fixed: the first backoff is about 900 ms, far past the deadline.
      jest.spyOn(Math, 'random').mockReturnValue(0.5);
      const policy = upstreamPolicy({ source: 'twilio', timeoutMs: 100, deadlineMs: 100, retries: 2, backoffMs: 1_000 });
      let attempts = 0;
      const call = watch(
        policy.execute(async () => {
          attempts += 1;
          throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, 'twilio failed (503)', 503);
        }),
      );

      await jest.advanceTimersByTimeAsync(100);
      expect(call.outcome).toEqual(timedOut);
      await jest.advanceTimersByTimeAsync(60_000);
      expect(attempts).toBe(1);
    });

    it("tells each wait before an attempt when the call's deadline ends, the same for every attempt", async () => {
      const deadlines: number[] = [];
      const policy = upstreamPolicy({
        source: 'segment',
        timeoutMs: 1_000,
        deadlineMs: 2_500,
        retries: 2,
        backoffMs: 1,
        beforeAttempt: async (_signal, deadlineAt) => void deadlines.push(deadlineAt),
      });
      const start = Date.now();
      let attempts = 0;
      const call = watch(
        policy.execute(async () => {
          if (++attempts > 1) return 'answered';
          await new Promise((resolve) => setTimeout(resolve, 500)); // a slow 503: the retry starts later
          throw new UpstreamError('segment', ErrorCode.UPSTREAM_UNAVAILABLE, 'segment failed (503)', 503);
        }),
      );

      await jest.advanceTimersByTimeAsync(1_000);
      expect(call.outcome).toBe('answered');
      expect(deadlines).toEqual([start + 2_500, start + 2_500]);
    });

    // The policy's own guard, for any wait: the Profile API budget is told the deadline (above) and
    // refuses a wait that cannot end before it as BUDGET_EXHAUSTED, so it never gets here.
    it('cuts a wait before the attempt that ignores its signal at the deadline, as UPSTREAM_TIMEOUT, and makes no call', async () => {
      const waits: AbortSignal[] = [];
      // A wait that does not even look at its signal: it ends 5 s on, long after the deadline.
      const beforeAttempt = (signal: AbortSignal) => (waits.push(signal), new Promise<void>((resolve) => setTimeout(resolve, 5_000)));
      const policy = upstreamPolicy({ source: 'segment', timeoutMs: 1_000, deadlineMs: 2_500, retries: 2, beforeAttempt });
      let calls = 0;
      const call = watch(policy.execute(async () => ++calls));

      await jest.advanceTimersByTimeAsync(2_500);
      expect(call.outcome).toEqual(timedOut);
      expect(waits).toHaveLength(1);
      expect(waits[0].aborted).toBe(true); // what lets the budget stop waiting

      await jest.advanceTimersByTimeAsync(60_000);
      expect(calls).toBe(0);
    });

    it('still answers with a second attempt that fits in the deadline after a timed-out first', async () => {
      const policy = upstreamPolicy({ source: 'segment', timeoutMs: 1_000, deadlineMs: 2_500, retries: 2, backoffMs: 1 });
      let attempts = 0;
      const call = watch(policy.execute(async (signal) => (++attempts === 1 ? hangs(signal) : 'answered')));

      await jest.advanceTimersByTimeAsync(2_500);
      expect(call.outcome).toBe('answered');
      expect(attempts).toBe(2);
    });
  });
});
