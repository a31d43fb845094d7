import { createHmac } from 'node:crypto';
import type { SandboxWorld } from './seed';

export interface IssueTokenOptions {
  identity: string;
  roles?: string[];
  /** Defaults to the worker of the sandbox agent with that identity, else none. */
  workerSid?: string | null;
  /** Default 24 h, as Flex tokens. Negative values give an already expired token. */
  expiresInSeconds?: number;
}

/** The body of POST /v1/Accounts/{sid}/Tokens/validate; every field is present, null when unknown. */
export interface TokenValidation {
  valid: boolean;
  code: number;
  message: string | null;
  expiration: string | null;
  realm_user_id: string | null;
  identity: string | null;
  roles: string[] | null;
  worker_sid: string | null;
  flex_instance_sid: string | null;
  flex_user_sid: string | null;
}

interface IssuedToken {
  identity: string;
  roles: string[];
  workerSid: string | null;
  expiresAt: number;
  flexUserSid: string;
}

/** Flex user tokens the sandbox's IAM endpoint knows. JWT-shaped so they look like the real ones. */
export class FlexTokens {
  private readonly issued = new Map<string, IssuedToken>();
  private serial = 0;

  constructor(
    private readonly world: SandboxWorld,
    private readonly clock: () => number,
  ) {}

  issue(options: IssueTokenOptions): string {
    const agent = this.world.agents.find((a) => a.identity === options.identity);
    const expiresAt = this.clock() + (options.expiresInSeconds ?? 86_400) * 1000;
    const serial = ++this.serial;
    const header = { alg: 'HS256', typ: 'JWT' };
    const payload = { iss: this.world.accountSid, sub: options.identity, exp: Math.floor(expiresAt / 1000), jti: `sandbox-${serial}` };
    const unsigned = `${base64url(header)}.${base64url(payload)}`;
    const token = `${unsigned}.${createHmac('sha256', this.world.authToken).update(unsigned).digest('base64url')}`;
    this.issued.set(token, {
      identity: options.identity,
      roles: options.roles ?? ['agent'],
      workerSid: options.workerSid === undefined ? (agent?.workerSid ?? null) : options.workerSid,
      expiresAt,
      flexUserSid: 'FU' + createHmac('sha256', this.world.authToken).update(options.identity).digest('hex').slice(0, 32),
    });
    return token;
  }

  /**
   * The token stops validating before its expiry, as when a Flex user is removed or logs out: IAM
   * answers `valid: false` for it (https://www.twilio.com/docs/iam/access-tokens, token validation).
   */
  revoke(token: string): void {
    this.issued.delete(token);
  }

  validate(token: string): TokenValidation {
    const found = this.issued.get(token);
    if (!found) return invalid('Token is invalid');
    if (found.expiresAt <= this.clock()) return invalid('Token has expired');
    return {
      valid: true,
      code: 0,
      message: null,
      expiration: new Date(found.expiresAt).toISOString(),
      realm_user_id: found.identity,
      identity: found.identity,
      roles: found.roles,
      worker_sid: found.workerSid,
      flex_instance_sid: this.world.flexInstanceSid,
      flex_user_sid: found.flexUserSid,
    };
  }
}

function invalid(message: string): TokenValidation {
  return {
    valid: false,
    code: 20151,
    message,
    expiration: null,
    realm_user_id: null,
    identity: null,
    roles: null,
    worker_sid: null,
    flex_instance_sid: null,
    flex_user_sid: null,
  };
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
