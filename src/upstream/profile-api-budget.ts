import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { RedisConnection } from '../cache/redis-connection';
import { ErrorCode, UpstreamError } from '../common/errors';
import { AppConfig } from '../config/config';
import { currentPriority, type Priority } from '../common/priority';

/**
 * Token bucket in Redis, refilled from Redis's own clock, shared by every instance: returns 0 and
 * takes a token, or the milliseconds until one is free. `reserve` tokens stay untouched for
 * foreground callers. A 429 from Segment pauses the bucket (`pause_ms`). Each call also marks the
 * calling instance as using the budget and returns how many did in the last minute: while Redis
 * is down, each keeps its share of the bucket in memory.
 * KEYS[1] the bucket, KEYS[2] the instances using it (same hash tag).
 */
const TAKE = `
local rate, burst, reserve, pause = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZADD', KEYS[2], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - 60000)
redis.call('PEXPIRE', KEYS[2], 60000)
local instances = redis.call('ZCARD', KEYS[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts', 'paused')
local tokens = tonumber(b[1]) or burst
local ts = tonumber(b[2]) or now
local paused = tonumber(b[3]) or 0
if pause > 0 then
  paused = math.max(paused, now + pause)
  redis.call('HSET', KEYS[1], 'paused', paused)
  redis.call('PEXPIRE', KEYS[1], 60000)
  return {0, instances}
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate / 1000)
local wait = 0
if now < paused then
  wait = paused - now
elseif tokens >= 1 + reserve then
  tokens = tokens - 1
else
  wait = math.ceil((1 + reserve - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
return {wait, instances}
`;

/**
 * How long after Redis returns an instance keeps to its share: longer than the others can take to
 * reconnect (ioredis's reconnect delay, at most 2 s here, plus a 2 s connect timeout).
 */
const RECOVERY_SETTLE_MS = 5_000;

type BudgetClient = (Redis | Cluster) & {
  ccBudgetTake(key: string, instancesKey: string, rate: number, burst: number, reserve: number, pause: number, instance: string): Promise<[number, number]>;
};

/**
 * The Profile API budget (SEGMENT_MAX_RPS) shared by all instances. A bucket with capacity B
 * refilled at R/s lets through at most B + R calls in any one second; B + R is 80 % of
 * SEGMENT_MAX_RPS, a small burst and the rest as steady rate. Foreground calls wait up to
 * SEGMENT_BUDGET_WAIT_MS and then fail with BUDGET_EXHAUSTED (the caller answers stale or
 * partial); background refreshes leave a reserve for them. Without Redis each instance keeps the
 * bucket in memory; while Redis is down, and for a few seconds after it returns, each keeps its
 * share of it (the bucket divided by the instances that used it in the last minute).
 */
@Injectable()
export class ProfileApiBudget {
  private readonly logger = new Logger(ProfileApiBudget.name);
  private readonly client?: BudgetClient;
  private readonly key: string;
  private readonly instancesKey: string;
  private readonly instance = randomUUID();
  /** Instances that used the shared bucket lately, as Redis last said. */
  private sharers = 1;
  private redisFailing = false;
  /** After an outage, until then, a call needs a token of this instance's share too. */
  private settlingUntil = 0;
  readonly burst: number;
  readonly rate: number;
  private readonly local: { tokens: number; ts: number; paused: number };
  private waits = 0;
  private exhausted = 0;

  constructor(
    private readonly config: AppConfig,
    redis: RedisConnection,
  ) {
    // Plan for 80 %: a call takes its token a moment before Segment sees it, and on a busy event
    // loop calls taken in one second can land in the next (the soak and a loaded 2-core machine
    // showed up to 54 arrivals in a second at 90 % of 50); the rest absorbs that drift.
    const planned = Math.max(1, Math.floor(config.segment.maxRps * 0.8));
    this.burst = Math.max(1, Math.floor(planned / 20));
    this.rate = Math.max(1, planned - this.burst);
    this.key = `${config.redis.keyPrefix}budget:{segment:${config.segment.spaceId || 'default'}}`;
    this.instancesKey = `${this.key}:instances`;
    this.local = { tokens: this.burst, ts: Date.now(), paused: 0 };
    if (redis.enabled) {
      const client = redis.create('budget');
      client.defineCommand('ccBudgetTake', { numberOfKeys: 2, lua: TAKE });
      // An outage is learnt from the connection, not only from a failed take: an instance that
      // made no call while Redis was away must keep to its share too once it returns.
      client.on('reconnecting', () => this.redisLost());
      this.client = client as BudgetClient;
    }
  }

  /**
   * Waits for a token; throws BUDGET_EXHAUSTED when none comes within the caller's bound: the
   * earlier of its own (SEGMENT_BUDGET_WAIT_MS or SEGMENT_BUDGET_BACKGROUND_WAIT_MS, from now) and
   * `until` (the end of the call's deadline, as `Date.now()` counts), so a wait that cannot fit is
   * refused at once, before the deadline could report the budget's wait as Segment's timeout. A
   * caller that gave up (its signal aborted) takes no token: its wait ends, with the signal's
   * reason, when it would have tried again.
   */
  async acquire(priority: Priority = currentPriority(), { signal, until = Infinity }: { signal?: AbortSignal; until?: number } = {}): Promise<void> {
    const reserve = priority === 'background' ? this.burst / 2 : 0;
    const ownBound = Date.now() + (priority === 'background' ? this.config.segment.budgetBackgroundWaitMs : this.config.segment.budgetWaitMs);
    for (;;) {
      signal?.throwIfAborted();
      const wait = await this.take(reserve, 0);
      if (wait === 0) return;
      this.waits += 1;
      const now = Date.now();
      // At `until` the caller's deadline fires: the wait must end before it.
      if (now + wait > ownBound || now + wait >= until) {
        this.exhausted += 1;
        throw new UpstreamError('segment', ErrorCode.BUDGET_EXHAUSTED, 'Profile API budget spent (SEGMENT_MAX_RPS)');
      }
      // Jitter so waiting instances do not all retry on the same millisecond; never up to `until`.
      const jittered = Math.min(wait + Math.floor(Math.random() * 5), until - now - 1);
      await new Promise((resolve) => setTimeout(resolve, jittered));
    }
  }

  /** Segment said 429: nobody calls it for a while. */
  async pause(ms: number): Promise<void> {
    await this.take(0, Math.max(1, Math.min(ms, 10_000)));
  }

  stats(): { waits: number; exhausted: number } {
    return { waits: this.waits, exhausted: this.exhausted };
  }

  private async take(reserve: number, pauseMs: number): Promise<number> {
    if (this.client) {
      // While Redis is away, and for a while after it returns (the other instances reconnect up
      // to a reconnect delay later and spend their shares in memory until then), a call needs a
      // token of this instance's share first. Also for the takes that find Redis back: each
      // was sent before any answer said so, all at once, and would otherwise draw on the whole
      // new bucket beside the others' shares.
      const settling = Date.now() < this.settlingUntil;
      const guarded = pauseMs === 0 && (settling || this.redisFailing);
      if (guarded) {
        const wait = this.takeLocal(reserve, 0);
        if (wait > 0) return wait;
      }
      try {
        const [wait, sharers] = await this.client.ccBudgetTake(this.key, this.instancesKey, this.rate, this.burst, reserve, pauseMs, this.instance);
        // A Redis that restarted has forgotten who shares the bucket: keep what it said before.
        this.sharers = Math.max(settling || this.redisFailing ? this.sharers : 1, Number(sharers));
        if (this.redisFailing) {
          this.logger.log('budget in Redis available again');
          this.settlingUntil = Date.now() + RECOVERY_SETTLE_MS;
        }
        this.redisFailing = false;
        return Number(wait);
      } catch (error) {
        this.redisLost((error as Error).message);
        if (guarded) return 0; // its share's token is taken already
      }
    }
    return this.takeLocal(reserve, pauseMs);
  }

  private redisLost(reason = 'connection lost'): void {
    if (!this.redisFailing) this.logger.warn(`budget in Redis unavailable, this instance keeps 1/${this.sharers} of it in memory: ${reason}`);
    this.redisFailing = true;
  }

  private takeLocal(reserve: number, pauseMs: number): number {
    const now = Date.now();
    const state = this.local;
    if (pauseMs > 0) {
      state.paused = Math.max(state.paused, now + pauseMs);
      return 0;
    }
    const rate = this.rate / this.sharers;
    const burst = Math.max(1, this.burst / this.sharers);
    reserve = Math.min(reserve, burst - 1);
    state.tokens = Math.min(burst, state.tokens + (Math.max(0, now - state.ts) * rate) / 1000);
    state.ts = now;
    if (now < state.paused) return state.paused - now;
    if (state.tokens >= 1 + reserve) {
      state.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 + reserve - state.tokens) * 1000) / rate);
  }
}
