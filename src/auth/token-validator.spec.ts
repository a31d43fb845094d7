import { ErrorCode } from '../common/errors';
import type { AppConfig } from '../config/config';
import { TwilioCalls } from '../twilio/twilio-calls';
import type { TwilioClient } from '../twilio/twilio-client';
import { UpstreamMetrics } from '../upstream/upstream-metrics';
import { TwilioFlexTokenValidator } from './token-validator';

const ACCOUNT = `AC${'1'.repeat(32)}`;
const config = { twilio: { accountSid: ACCOUNT }, upstream: { timeoutMs: 1_000, retries: 0 } } as AppConfig;
const VALID = {
  valid: true,
  code: 0,
  message: null,
  expiration: '2030-01-01T00:00:00Z',
  realm_user_id: 'jane',
  identity: 'jane',
  roles: ['agent'],
  worker_sid: 'WK1',
};

function validatorAnswering(statusCode: number, body: unknown) {
  const request = jest.fn().mockResolvedValue({ statusCode, body, headers: {} });
  const twilio = { client: { request } } as unknown as TwilioClient;
  return { request, validator: new TwilioFlexTokenValidator(config, new TwilioCalls(config, twilio, new UpstreamMetrics())) };
}

describe(TwilioFlexTokenValidator.name, () => {
  it('posts the token as JSON to IAM for our account and reads the owner', async () => {
    const { request, validator } = validatorAnswering(200, VALID);
    expect(await validator.validate('tok')).toEqual({ identity: 'jane', roles: ['agent'], workerSid: 'WK1', expiresAt: Date.parse('2030-01-01T00:00:00Z') });
    expect(request).toHaveBeenCalledWith({
      method: 'post',
      uri: `https://iam.twilio.com/v1/Accounts/${ACCOUNT}/Tokens/validate`,
      data: { token: 'tok' },
      headers: { 'Content-Type': 'application/json' },
    });
  });

  it('reads "not valid", a 400 and an owner-less answer as a refused token', async () => {
    expect(await validatorAnswering(200, { ...VALID, valid: false, code: 20151, message: 'Token is invalid' }).validator.validate('t')).toBeNull();
    expect(await validatorAnswering(400, { message: 'bad token' }).validator.validate('t')).toBeNull();
    expect(await validatorAnswering(200, { ...VALID, identity: null }).validator.validate('t')).toBeNull();
    expect(await validatorAnswering(200, { ...VALID, expiration: 'soon' }).validator.validate('t')).toBeNull();
  });

  it('treats our credentials being refused, 5xx and odd bodies as IAM being unavailable', async () => {
    for (const [status, body] of [
      [401, {}],
      [403, {}],
      [503, {}],
      [200, { valid: 'yes' }],
      [200, 'html'],
    ] as const) {
      await expect(validatorAnswering(status, body).validator.validate('t')).rejects.toMatchObject({ code: ErrorCode.UPSTREAM_UNAVAILABLE });
    }
  });
});
