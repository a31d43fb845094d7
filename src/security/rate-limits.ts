import { Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { requestToken } from '../auth/flex-token';
import { RedisConnection } from '../cache/redis-connection';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { IdentifierDigest } from '../common/identifier-digest';

/** Orchestrator probes: never limited. */
const UNLIMITED = /^\/(healthz|readyz|metrics)$/;
/** Signed callbacks from Twilio and Segment: limited per address too, but far above their bursts. */
const CALLBACKS = /^\/(webhooks|routing)\//;
const CALLBACK_SHARE = 10;
/** Tokens IAM has not seen yet, per address: each one costs a Twilio call. */
const NEW_TOKEN_SHARE = 10;

/**
 * The request budgets, shared by every instance through Redis when there is one
 * (rate-limiter-flexible): per client address (sized for a contact center behind one NAT), per
 * Flex token (one agent's session; keyed without asking IAM, so a flood costs no validation
 * call), per address for signed callbacks, and per address for tokens IAM must be asked about.
 * Both budgets of a request are sent to Redis together: one round trip. While Redis is down each
 * instance keeps the same budgets in memory (the insurance limiter) instead of letting all through.
 * A client address is personal data: budgets are keyed by its keyed digest (`IdentifierDigest`),
 * never the address itself, so Redis holds no IP (IPv4 has 2^32 values: a plain hash is reversed
 * by hashing them all).
 */
@Injectable()
export class RateLimits {
  private readonly perAddress: RateLimiterAbstract;
  private readonly perToken: RateLimiterAbstract;
  private readonly callbacks: RateLimiterAbstract;
  private readonly newTokens: RateLimiterAbstract;
  /** Addresses seen lately and their digests: an HMAC per request was a hundredth of a warm answer's CPU. */
  private readonly addressKeys = new LRUCache<string, string>({ max: 10_000 });

  constructor(
    config: AppConfig,
    redis: RedisConnection,
    private readonly ids: IdentifierDigest,
  ) {
    const { windowMs, workerMax, ipMax } = config.http.rateLimit;
    const duration = Math.max(1, Math.round(windowMs / 1000));
    // Every request sends its budgets here: the commands of the requests admitted in one
    // event-loop turn leave in one write (a system call per request was 7 % of a warm answer's CPU).
    const client = redis.enabled ? redis.create('rate-limit', { autoPipelining: true }) : null;
    const limiter = (name: string, points: number): RateLimiterAbstract => {
      const memory = new RateLimiterMemory({ points, duration, keyPrefix: name });
      if (!client) return memory;
      return new RateLimiterRedis({
        storeClient: client,
        points,
        duration,
        keyPrefix: `${config.redis.keyPrefix}rl:${name}`,
        // A spent budget is remembered here until its window ends: a flood costs no Redis call.
        inMemoryBlockOnConsumed: points + 1,
        rejectIfRedisNotReady: true,
        insuranceLimiter: memory,
      });
    };
    this.perAddress = limiter('ip', ipMax);
    this.perToken = limiter('token', workerMax);
    this.callbacks = limiter('callback', ipMax * CALLBACK_SHARE);
    this.newTokens = limiter('new-token', Math.max(1, Math.floor(ipMax / NEW_TOKEN_SHARE)));
  }

  /** Admission: throws RATE_LIMITED (with Retry-After) when a budget of this request is spent. */
  async admit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const path = request.routeOptions.url ?? request.url.split('?')[0];
    if (UNLIMITED.test(path)) return;
    const address = this.addressKey(request.ip);
    if (CALLBACKS.test(path)) return this.consume(reply, [this.callbacks.consume(address)]);
    // Keyed by the token's digest (shortened: a budget key, not a credential), never the token.
    const token = requestToken(request);
    await this.consume(reply, [this.perAddress.consume(address), ...(token ? [this.perToken.consume(token.digest.slice(0, 22))] : [])]);
  }

  /** Before IAM is asked about a token it has not seen: throws RATE_LIMITED past the address's budget. */
  async admitNewToken(address: string): Promise<void> {
    await this.consume(undefined, [this.newTokens.consume(this.addressKey(address))]);
  }

  /** The budget key of a client address: its keyed digest, the same on every instance. */
  private addressKey(address: string): string {
    let key = this.addressKeys.get(address);
    if (key === undefined) this.addressKeys.set(address, (key = this.ids.of(`ip:${address}`)));
    return key;
  }

  private async consume(reply: FastifyReply | undefined, spending: Array<Promise<RateLimiterRes>>): Promise<void> {
    const results = await Promise.allSettled(spending);
    let refusedFor: number | null = null;
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      // A refusal is a RateLimiterRes; anything else is the store failing with no insurance: let through.
      if (result.reason instanceof RateLimiterRes) refusedFor = Math.max(refusedFor ?? 0, result.reason.msBeforeNext);
    }
    if (refusedFor === null) return;
    const seconds = Math.max(1, Math.ceil(refusedFor / 1000));
    void reply?.header('Retry-After', String(seconds));
    throw new DomainError(ErrorCode.RATE_LIMITED, `Too many requests: retry in ${seconds} seconds`);
  }
}
