import { ExponentialBackoff, handleWhen, retry, timeout, TimeoutStrategy, TaskCancelledError } from 'cockatiel';
import { ErrorCode, UpstreamError } from '../common/errors';

export interface UpstreamPolicyOptions {
  source: string;
  /** Per attempt. */
  timeoutMs: number;
  retries: number;
  /** Base of the exponential backoff; jittered. */
  backoffMs?: number;
  /** Runs before each attempt, outside its timeout (e.g. waiting for the call budget). */
  beforeAttempt?: () => Promise<void>;
}

/**
 * The resilience policy every upstream call goes through (cockatiel): a timeout per attempt and
 * retries with decorrelated-jitter backoff for 429, 5xx and timeouts. Non-retryable failures
 * (400, 401, 404) pass straight through.
 */
export function upstreamPolicy(options: UpstreamPolicyOptions): UpstreamPolicy {
  const retryPolicy = retry(
    handleWhen((error) => error instanceof UpstreamError && error.retryable),
    {
      maxAttempts: options.retries,
      backoff: new ExponentialBackoff({ initialDelay: options.backoffMs ?? 50, maxDelay: 1_000 }),
    },
  );
  const timeoutPolicy = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  return {
    async execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
      const attempt = () =>
        timeoutPolicy.execute(({ signal }) =>
          call(signal).catch((error: unknown) => {
            // An aborted fetch after our own timeout surfaces as a timeout, not as a crash.
            if (signal.aborted) throw new UpstreamError(options.source, ErrorCode.UPSTREAM_TIMEOUT, `${options.source} timed out`);
            throw error;
          }),
        );
      try {
        return await retryPolicy.execute(async () => {
          await options.beforeAttempt?.();
          return attempt();
        });
      } catch (error) {
        if (error instanceof TaskCancelledError) {
          throw new UpstreamError(options.source, ErrorCode.UPSTREAM_TIMEOUT, `${options.source} timed out after ${options.timeoutMs} ms`);
        }
        throw error;
      }
    },
  };
}

export interface UpstreamPolicy {
  execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** Maps an HTTP status from an upstream to the service's error. */
export function upstreamErrorFor(source: string, status: number, detail: string, retryAfterMs?: number): UpstreamError {
  if (status === 429) return new UpstreamError(source, ErrorCode.UPSTREAM_RATE_LIMITED, `${source} rate limited: ${detail}`, status, retryAfterMs);
  if (status === 401 || status === 403) return new UpstreamError(source, ErrorCode.UNAUTHENTICATED, `${source} refused our credentials: ${detail}`, status);
  if (status >= 400 && status < 500) return new UpstreamError(source, ErrorCode.BAD_REQUEST, `${source} rejected the request (${status}): ${detail}`, status);
  return new UpstreamError(source, ErrorCode.UPSTREAM_UNAVAILABLE, `${source} failed (${status}): ${detail}`, status);
}
