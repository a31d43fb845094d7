import { ErrorCode, UpstreamError } from '../common/errors';
import { upstreamErrorFor } from '../upstream/upstream-policy';

/**
 * twilio-node throws RestException (status, code) for HTTP errors and axios errors for network
 * failures and timeouts; both become the service's UpstreamError.
 */
export function toUpstreamError(error: unknown): never {
  if (error instanceof UpstreamError) throw error;
  const e = error as { status?: unknown; code?: unknown; message?: unknown };
  if (typeof e?.status === 'number') {
    // Twilio's numeric error code only: its message can quote the request (a phone number, an address).
    throw upstreamErrorFor('twilio', e.status, typeof e.code === 'number' ? e.code : undefined);
  }
  if (e?.code === 'ECONNABORTED' || e?.code === 'ETIMEDOUT') {
    throw new UpstreamError('twilio', ErrorCode.UPSTREAM_TIMEOUT, 'twilio timed out');
  }
  throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, `twilio unreachable: ${typeof e?.code === 'string' ? e.code : 'network error'}`);
}

/**
 * One Twilio REST call: its answer; for a status named in `answers` (404 for a resource Twilio
 * does not know, 412 for a stale ETag) the answer given there; anything else as an UpstreamError.
 */
export async function twilioCall<T, A = never>(work: () => Promise<T>, answers: Readonly<Record<number, A>> = {}): Promise<T | A> {
  try {
    return await work();
  } catch (error) {
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status === 'number' && Object.hasOwn(answers, status)) return answers[status];
    return toUpstreamError(error);
  }
}
