import { ErrorCode, UpstreamError } from '../common/errors';
import { upstreamPolicy } from './upstream-policy';

/** An attempt that never answers: it ends only when the policy's timeout aborts it. */
const hangs = (signal: AbortSignal) =>
  new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError'))));

describe('upstreamPolicy', () => {
  it('retries an attempt that timed out, as it retries a 5xx', async () => {
    const policy = upstreamPolicy({ source: 'segment', timeoutMs: 20, retries: 2, backoffMs: 1 });
    let attempts = 0;
    const answer = await policy.execute(async (signal) => (++attempts === 1 ? hangs(signal) : 'answered'));
    expect(answer).toBe('answered');
    expect(attempts).toBe(2);
  });

  it('fails with UPSTREAM_TIMEOUT once every attempt timed out, each one having spent its turn', async () => {
    const before: number[] = [];
    const policy = upstreamPolicy({ source: 'segment', timeoutMs: 20, retries: 2, backoffMs: 1, beforeAttempt: async () => void before.push(1) });
    let attempts = 0;
    const failure = await policy.execute(async (signal) => (++attempts, hangs(signal))).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(UpstreamError);
    expect((failure as UpstreamError).code).toBe(ErrorCode.UPSTREAM_TIMEOUT);
    expect(attempts).toBe(3);
    expect(before).toHaveLength(3);
  });
});
