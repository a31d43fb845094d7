import { ExponentialBackoff, handleWhen, retry, timeout, TimeoutStrategy, TaskCancelledError, wrap } from 'cockatiel';
import { ErrorCode, UpstreamError, type UpstreamErrorCode } from '../common/errors';

export interface UpstreamPolicyOptions {
  source: string;
  /** Per attempt. */
  timeoutMs: number;
  /** The whole call: every attempt, the backoff between them and `beforeAttempt`'s waits. */
  deadlineMs: number;
  retries: number;
  /** Base of the exponential backoff; jittered. */
  backoffMs?: number;
  /**
   * Runs before each attempt, outside its timeout but within the deadline (e.g. waiting for the
   * call budget). It is told when the deadline ends (`deadlineAt`, as `Date.now()` counts), so a
   * wait that cannot end before then can fail at once with its own reason; its signal aborts at the
   * deadline, so it can stop waiting then.
   */
  beforeAttempt?: (signal: AbortSignal, deadlineAt: number) => Promise<void>;
}

/**
 * The resilience policy every upstream call goes through (cockatiel): a timeout per attempt and
 * retries with decorrelated-jitter backoff for 429, 5xx and timeouts, all under one deadline.
 * Non-retryable failures (400, 401, 404) pass straight through.
 */
export function upstreamPolicy(options: UpstreamPolicyOptions): UpstreamPolicy {
  const { source } = options;
  const timedOut = (message: string) => new UpstreamError(source, ErrorCode.UPSTREAM_TIMEOUT, `${source} ${message}`);
  const retryPolicy = retry(
    handleWhen((error) => error instanceof UpstreamError && error.retryable),
    {
      maxAttempts: options.retries,
      backoff: new ExponentialBackoff({ initialDelay: options.backoffMs ?? 50, maxDelay: 1_000 }),
    },
  );
  // cockatiel's composition: the deadline's signal is the one the retries run under, and each
  // attempt's timeout derives its own from it, so the deadline also aborts the attempt in flight.
  const deadlinePolicy = wrap(timeout(options.deadlineMs, TimeoutStrategy.Aggressive), retryPolicy);
  const timeoutPolicy = timeout(options.timeoutMs, TimeoutStrategy.Aggressive);
  return {
    async execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
      const attempt = async (deadline: AbortSignal) => {
        try {
          return await timeoutPolicy.execute(
            ({ signal }) =>
              call(signal).catch((error: unknown) => {
                // An aborted fetch after our own timeout surfaces as a timeout, not as a crash.
                if (signal.aborted) throw timedOut('timed out');
                throw error;
              }),
            deadline,
          );
        } catch (error) {
          // cockatiel's own timeout error, mapped here so that the retry policy sees a timeout
          // (retryable), not an unknown error it would pass straight through.
          if (error instanceof TaskCancelledError) throw timedOut(`timed out after ${options.timeoutMs} ms`);
          throw error;
        }
      };
      const deadlineAt = Date.now() + options.deadlineMs;
      try {
        return await deadlinePolicy.execute(async ({ signal }) => {
          await options.beforeAttempt?.(signal, deadlineAt);
          // Past the deadline no attempt starts: not after a wait that outlasted it, nor after a
          // backoff, which cockatiel's retry sleeps out even once its signal is aborted.
          signal.throwIfAborted();
          return attempt(signal);
        });
      } catch (error) {
        // Only the deadline's own: each attempt's timeout is an UpstreamError by now.
        if (error instanceof TaskCancelledError) throw timedOut(`gave no answer within ${options.deadlineMs} ms, retries included`);
        throw error;
      }
    },
  };
}

export interface UpstreamPolicy {
  execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T>;
}

/** What of an upstream's error body may be kept: a code-like token (`20404`, `not_found`), never free text. */
const UPSTREAM_CODE = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Maps an HTTP status from an upstream to the service's error. Upstream error bodies and messages
 * can echo what was sent (Twilio: "The 'To' number +1555… is not a valid phone number"; Segment's
 * messages name the profile), so neither becomes part of the error: its message says only which
 * source answered what status, and of the body only `upstreamCode` (Twilio's numeric error code,
 * Segment's `error.code`) is kept, in the message too, when it is a plain code. Clients get a generic message by code
 * (`mapError`); the log line of the failure may carry the source, status and `upstreamCode`.
 */
export function upstreamErrorFor(source: string, status: number, upstreamCode?: string | number | null, retryAfterMs?: number): UpstreamError {
  const code = upstreamCode === undefined || upstreamCode === null || !UPSTREAM_CODE.test(String(upstreamCode)) ? undefined : String(upstreamCode);
  // The status and the plain code: enough for logs and dead letters to look the error up.
  const answered = `(${status}${code ? `, code ${code}` : ''})`;
  const make = (errorCode: UpstreamErrorCode, message: string) => new UpstreamError(source, errorCode, message, status, retryAfterMs, code);
  if (status === 429) return make(ErrorCode.UPSTREAM_RATE_LIMITED, `${source} rate limited ${answered}`);
  if (status === 401 || status === 403) return make(ErrorCode.UNAUTHENTICATED, `${source} refused our credentials ${answered}`);
  if (status >= 400 && status < 500) return make(ErrorCode.BAD_REQUEST, `${source} rejected the request ${answered}`);
  return make(ErrorCode.UPSTREAM_UNAVAILABLE, `${source} failed ${answered}`);
}
