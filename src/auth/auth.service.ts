import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { precheck, requestToken, tokenDigest } from './flex-token';
import type { Principal } from './principal';
import { FlexTokenValidator } from './token-validator';

const TOKEN_KEY_PREFIX = cacheKeys.authTokenDigest('');
const refuse = (message: string) => new DomainError(ErrorCode.UNAUTHENTICATED, message);
/** Tokens IAM refused, by hash, for this long: the same forged token sent again costs no IAM call. */
const REFUSED_FOR_MS = 60_000;
const MAX_REFUSED = 10_000;
/**
 * How long an instance that found a token's validation in Redis keeps its own copy: long enough
 * that a busy token costs each instance a Redis read every few minutes, not one per request;
 * short enough that deleting `auth:*` in Redis cuts tokens off everywhere within minutes (the
 * service's own deletes reach every instance at once through the cache's bus).
 */
const IN_PROCESS_COPY = { ttlMs: 5 * 60_000, graceMs: 0 };
/** Principals this instance holds in hand (see `inHand`). */
const MAX_IN_HAND = 50_000;

/**
 * Who a Flex token belongs to. One IAM call per token: the answer is cached (L1 + Redis) until the
 * token expires; a refusal is remembered in process only, by the token's hash, for a minute (so a
 * refused request writes nothing shared, and sending it again asks IAM nothing). Transport-neutral:
 * HTTP goes through `authenticateRequest`, a WebSocket `connection_init` calls `authenticate`.
 */
@Injectable()
export class AuthService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AuthService.name);
  /** Several root fields of one GraphQL request share one authentication. */
  private readonly inFlight = new WeakMap<FastifyRequest, Promise<Principal>>();
  private readonly refused = new LRUCache<string, DomainError>({ max: MAX_REFUSED, ttl: REFUSED_FOR_MS });
  /**
   * The cache's answer per token key, kept in hand for IN_PROCESS_COPY: a request with a known
   * token costs a map lookup instead of a cache read (which was a twentieth of a warm answer's
   * CPU). Dropped as soon as the cache reports the key changed, here or on another instance (its
   * bus), so a deleted validation is asked again exactly as before.
   */
  private readonly inHand = new LRUCache<string, Principal>({ max: MAX_IN_HAND, ttl: IN_PROCESS_COPY.ttlMs });
  /** Counts token keys changing: an answer read before a change is not taken in hand after it. */
  private changes = 0;
  private readonly stopWatching: () => void;

  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    private readonly validator: FlexTokenValidator,
  ) {
    this.stopWatching = cache.onKeysChanged((keys) => {
      for (const key of keys) {
        if (!key.startsWith(TOKEN_KEY_PREFIX)) continue;
        this.changes++;
        this.inHand.delete(key);
      }
    });
  }

  /** After the HTTP server has drained: a revocation still reaches the answers given meanwhile. */
  onApplicationShutdown(): void {
    this.stopWatching();
  }

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
  async authenticateRequest(request: FastifyRequest, reply?: FastifyReply, beforeValidation?: () => Promise<void>): Promise<Principal> {
    let pending = this.inFlight.get(request);
    if (!pending) {
      const found = requestToken(request);
      pending = found
        ? this.authenticate(found.token, beforeValidation, found.digest)
        : Promise.reject(refuse('A Flex token is required (Authorization: Bearer or X-Flex-Token)'));
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

  /**
   * `beforeValidation` runs only when IAM must be asked (a per-address budget for new tokens);
   * `hash` is the token's digest when the caller has it already.
   */
  async authenticate(token: string, beforeValidation?: () => Promise<void>, hash = tokenDigest(token)): Promise<Principal> {
    const now = Date.now();
    const shape = precheck(token, now);
    if (shape === 'malformed') throw refuse('The Flex token is malformed');
    if (shape === 'expired') throw refuse('The Flex token has expired');
    const refusal = this.refused.get(hash);
    if (refusal) throw refusal;
    // The token's own TTL is known once IAM answers (policyFor); no grace: an expired token is
    // never served (checked below). An instance that finds the answer in Redis keeps its copy for
    // IN_PROCESS_COPY (it was 1 ms, which cost every request on every other instance a Redis read).
    const validate = async () => {
      await beforeValidation?.();
      return this.validate(token, hash);
    };
    const key = cacheKeys.authTokenDigest(hash);
    let principal = this.inHand.get(key);
    if (!principal) {
      const changes = this.changes;
      ({ value: principal } = await this.cache.getOrSet(key, IN_PROCESS_COPY, validate, {
        policyFor: (p) => ({ ttlMs: Math.max(1, p.expiresAt - Date.now()), graceMs: 0 }),
      }));
      if (changes === this.changes) this.inHand.set(key, principal);
    }
    // The cache TTL ends with the token; this covers clock skew between instances.
    if (principal.expiresAt <= Date.now()) throw refuse('The Flex token has expired');
    return principal;
  }

  private async validate(token: string, hash: string): Promise<Principal> {
    const principal = await this.validator.validate(token);
    if (!principal) {
      const refusal = refuse('The Flex token is not valid');
      this.refused.set(hash, refusal);
      throw refusal;
    }
    if (principal.expiresAt <= Date.now()) throw refuse('The Flex token has expired');
    return principal;
  }
}
