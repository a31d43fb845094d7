import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { precheck, tokenFromHeaders } from './flex-token';
import type { Principal } from './principal';
import { FlexTokenValidator } from './token-validator';


const refuse = (message: string) => new DomainError(ErrorCode.UNAUTHENTICATED, message);

/**
 * Who a Flex token belongs to. One IAM call per token: the answer is cached (L1 + Redis) until the
 * token expires; refusals are not cached, so a refused request writes nothing. Transport-neutral:
 * HTTP goes through `authenticateRequest`, a WebSocket `connection_init` calls `authenticate`.
 */
@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuthService.name);
  /** Several root fields of one GraphQL request share one authentication. */
  private readonly inFlight = new WeakMap<FastifyRequest, Promise<Principal>>();

  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly validator: FlexTokenValidator,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.auth.mode === 'dev') {
      this.logger.warn(
        `AUTH_MODE=dev: Flex tokens are checked by the sandbox's IAM at ${this.config.twilio.apiBaseUrl ?? 'iam.twilio.com'}; ` +
          'only tokens the sandbox issued are accepted. Never run dev mode in front of real agents.',
      );
    }
  }

  /**
   * Puts the request's caller on `request.principal`; throws UNAUTHENTICATED (and tells the client
   * how to authenticate) without a valid token.
   */
  async authenticateRequest(request: FastifyRequest, reply?: FastifyReply): Promise<Principal> {
    let pending = this.inFlight.get(request);
    if (!pending) {
      const token = tokenFromHeaders(request.headers);
      pending = token ? this.authenticate(token) : Promise.reject(refuse('A Flex token is required (Authorization: Bearer or X-Flex-Token)'));
      this.inFlight.set(request, pending);
    }
    try {
      request.principal = await pending;
      return request.principal;
    } catch (error) {
      void reply?.header('WWW-Authenticate', 'Bearer realm="customer-context"');
      throw error;
    }
  }

  async authenticate(token: string): Promise<Principal> {
    const now = Date.now();
    const shape = precheck(token, now);
    if (shape === 'malformed') throw refuse('The Flex token is malformed');
    if (shape === 'expired') throw refuse('The Flex token has expired');
    let principal: Principal;
    try {
      // The TTL is only known once IAM answers (policyFor); no grace: an expired token is never served.
      const cached = await this.cache.getOrSet(cacheKeys.authToken(token), { ttlMs: 1, graceMs: 0 }, () => this.validate(token), {
        policyFor: (p) => ({ ttlMs: Math.max(1, p.expiresAt - Date.now()), graceMs: 0 }),
      });
      principal = cached.value;
    } catch (error) {
      // bentocache wraps what the factory threw.
      const cause = error instanceof DomainError ? error : (error as { cause?: unknown })?.cause;
      throw cause instanceof DomainError ? cause : error;
    }
    // The cache TTL ends with the token; this covers clock skew between instances.
    if (principal.expiresAt <= Date.now()) throw refuse('The Flex token has expired');
    return principal;
  }

  private async validate(token: string): Promise<Principal> {
    const principal = await this.validator.validate(token);
    if (!principal) throw refuse('The Flex token is not valid');
    if (principal.expiresAt <= Date.now()) throw refuse('The Flex token has expired');
    return principal;
  }
}
