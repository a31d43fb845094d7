import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { ErrorCode, UpstreamError } from '../common/errors';
import { AppConfig } from '../config/config';
import { TwilioCalls } from '../twilio/twilio-calls';
import { toUpstreamError } from '../twilio/twilio-errors';
import type { Principal } from './principal';

/** Port to Twilio's Flex token validation. */
export abstract class FlexTokenValidator {
  /** The token's owner, or null when Twilio says the token is not valid. */
  abstract validate(token: string): Promise<Principal | null>;
}

/** `{valid, code, message, expiration, realm_user_id, identity, roles, worker_sid}` (WIRE-FORMATS.md). */
const validation = z.object({
  valid: z.boolean(),
  expiration: z.string().nullish(),
  identity: z.string().nullish(),
  roles: z.array(z.string()).nullish(),
  worker_sid: z.string().nullish(),
});

/**
 * `POST https://iam.twilio.com/v1/Accounts/{AccountSid}/Tokens/validate` through twilio-node's
 * request client (so TWILIO_API_BASE_URL reroutes it like every other Twilio call).
 */
@Injectable()
export class TwilioFlexTokenValidator extends FlexTokenValidator {
  private readonly logger = new Logger(FlexTokenValidator.name);

  constructor(
    private readonly config: AppConfig,
    private readonly twilio: TwilioCalls,
  ) {
    super();
  }

  validate(token: string): Promise<Principal | null> {
    const uri = `https://iam.twilio.com/v1/Accounts/${this.config.twilio.accountSid}/Tokens/validate`;
    return this.twilio.observe('token_validate', async () => {
      let response: { statusCode: number; body: unknown };
      try {
        response = (await this.twilio.client.request({
          method: 'post',
          uri,
          data: { token },
          headers: { 'Content-Type': 'application/json' },
        })) as typeof response;
      } catch (error) {
        return toUpstreamError(error);
      }
      return this.read(response.statusCode, response.body);
    });
  }

  private read(status: number, body: unknown): Principal | null {
    // 400: IAM could not make sense of the token itself; that is the caller's token, not our fault.
    if (status === 400) return null;
    if (status === 401 || status === 403) {
      this.logger.error(`token validation refused our Twilio credentials (${status}): check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN`);
      throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, 'token validation is unavailable', status);
    }
    if (status !== 200) return toUpstreamError({ status, message: 'token validation failed' });
    const parsed = validation.safeParse(body);
    if (!parsed.success) throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, 'token validation answered an unexpected body', status);
    const { valid, expiration, identity, roles, worker_sid } = parsed.data;
    const expiresAt = expiration ? Date.parse(expiration) : Number.NaN;
    // Valid but without an owner or an end is not something to cache or act on: refuse.
    if (!valid || !identity || Number.isNaN(expiresAt)) return null;
    return { identity, roles: roles ?? [], workerSid: worker_sid ?? null, expiresAt };
  }
}
