import { ErrorCode, UpstreamError } from '../common/errors';
import { twilioCall } from './twilio-errors';

/** What twilio-node throws for an HTTP error: a RestException with the status. */
const rest = (status: number) => Object.assign(new Error(`status ${status}`), { status, code: 20404 });

describe('twilioCall', () => {
  it('answers what the call answered', async () => {
    await expect(twilioCall(async () => 'task', { 404: null })).resolves.toBe('task');
  });

  it('answers the given value for a status it names, and only for those', async () => {
    await expect(twilioCall(() => Promise.reject(rest(404)), { 404: null })).resolves.toBeNull();
    await expect(twilioCall(() => Promise.reject(rest(412)), { 412: 'stale', 404: null })).resolves.toBe('stale');
    await expect(twilioCall(() => Promise.reject(rest(404)))).rejects.toBeInstanceOf(UpstreamError);
  });

  it("keeps Twilio's error code and never its message, which can quote the request", async () => {
    const invalid = Object.assign(new Error("The 'To' number +15550100 is not a valid phone number."), { status: 400, code: 21211 });
    const error = (await twilioCall(() => Promise.reject(invalid)).catch((e: unknown) => e)) as UpstreamError;
    expect(error).toMatchObject({
      code: ErrorCode.BAD_REQUEST,
      upstreamStatus: 400,
      upstreamCode: '21211',
      message: 'twilio rejected the request (400, code 21211)',
    });
  });

  it('turns any other failure into the service’s UpstreamError', async () => {
    await expect(twilioCall(() => Promise.reject(rest(503)), { 404: null })).rejects.toMatchObject({ code: ErrorCode.UPSTREAM_UNAVAILABLE });
    await expect(twilioCall(() => Promise.reject(Object.assign(new Error('t'), { code: 'ETIMEDOUT' })), { 404: null })).rejects.toMatchObject({
      code: ErrorCode.UPSTREAM_TIMEOUT,
    });
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- what a non-Error rejection becomes is the point
    await expect(twilioCall(() => Promise.reject(null), { 404: null })).rejects.toBeInstanceOf(UpstreamError);
  });
});
