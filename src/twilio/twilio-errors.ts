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
    throw upstreamErrorFor('twilio', e.status, `${typeof e.code === 'number' ? e.code : ''} ${String(e.message ?? '')}`.trim());
  }
  if (e?.code === 'ECONNABORTED' || e?.code === 'ETIMEDOUT') {
    throw new UpstreamError('twilio', ErrorCode.UPSTREAM_TIMEOUT, 'twilio timed out');
  }
  throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, `twilio unreachable: ${typeof e?.code === 'string' ? e.code : 'network error'}`);
}
