import { randomUUID } from 'node:crypto';
import { Cluster, type Redis } from 'ioredis';

/**
 * One upstream fetch per key across every instance sharing Redis. bentocache already collapses
 * concurrent misses inside one process; this collapses them between processes: the first to take
 * the lock fetches and publishes the result under its lock token, the others wait for that result.
 * If Redis fails, each caller fetches for itself (more calls, never a stuck request). A command
 * that timed out is tried again a few times first: under load the late one is usually our own
 * event loop, not Redis, and fetching alone then would call the upstream once per instance.
 */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/**
 * One atomic step of waiting: the result of the holder seen last time if it has published one,
 * else the lock if it is free or already ours (a try whose answer timed out may have taken it),
 * else the current holder's token. Done apart, a holder could publish and release between a
 * failed SET NX and the GET that names it, and the waiter, knowing no holder, would take the free
 * lock and fetch a second time.
 * KEYS[1] lock, KEYS[2] the last seen holder's result; ARGV[1] our token, ARGV[2] lock TTL in ms.
 */
const ACQUIRE = `
local published = redis.call('GET', KEYS[2])
if published then return {'result', published} end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {'lead', ''} end
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then return {'lead', ''} end
return {'wait', holder or ''}`;
const POLL_MS = 15;
const RESULT_TTL_MS = 10_000;
/** Timed-out tries of one step before fetching alone: bounds the wait on a Redis that hangs. */
const MAX_TIMEOUTS = 3;

const isTimeout = (error: unknown) => error instanceof Error && error.message === 'Command timed out';

/** The leader's own fetch failed: that error is the caller's, not a Redis problem. */
class LeaderError extends Error {
  constructor(override readonly cause: unknown) {
    super('leader fetch failed');
  }
}

type LockClient = (Redis | Cluster) & {
  ccRelease(key: string, token: string): Promise<number>;
  ccAcquire(lockKey: string, resultKey: string, token: string, ttlMs: number): Promise<[string, string]>;
};

export class SingleFlight {
  private readonly client: LockClient;

  constructor(
    client: Redis | Cluster,
    private readonly prefix: string,
    private readonly lockTimeoutMs: number,
  ) {
    client.defineCommand('ccRelease', { numberOfKeys: 1, lua: RELEASE });
    client.defineCommand('ccAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    this.client = client as LockClient;
  }

  async run<T>(key: string, fetch: () => Promise<T>): Promise<{ value: T; leader: boolean }> {
    // The hash tag puts the lock and its results on one Cluster slot, as the script needs.
    const lockKey = `${this.prefix}lock:{${key}}`;
    const deadline = Date.now() + this.lockTimeoutMs;
    const token = randomUUID();
    let holder = '';
    let timeouts = 0;
    try {
      for (;;) {
        let step: [string, string];
        try {
          step = await this.client.ccAcquire(lockKey, `${lockKey}:${holder || 'none'}`, token, this.lockTimeoutMs);
          timeouts = 0;
        } catch (error) {
          // A connection that is down fails at once next time too: only a late answer is retried.
          if (!isTimeout(error) || this.client.status !== 'ready' || ++timeouts >= MAX_TIMEOUTS || Date.now() > deadline) throw error;
          continue;
        }
        const [state, detail] = step;
        if (state === 'result') return { value: JSON.parse(detail) as T, leader: false };
        if (state === 'lead') return { value: await this.lead(lockKey, token, fetch), leader: true };
        holder = detail || holder;
        if (Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } catch (error) {
      if (error instanceof LeaderError) throw error.cause;
      // Redis failed us: fetch alone rather than keep the caller waiting.
    }
    return { value: await fetch(), leader: true };
  }

  /**
   * Drops the locks of these keys and the results leaders published under them (they hold the
   * value for RESULT_TTL_MS): an erasure must not leave a copy there. One SCAN over the lock keys
   * (on every master of a Cluster); erasures are rare. Returns how many were dropped.
   */
  async forget(keys: readonly string[]): Promise<number> {
    const locks = new Set(keys.map((key) => `${this.prefix}lock:{${key}}`));
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    const pattern = `${this.prefix.replace(/[*?[\]\\]/g, '\\$&')}lock:{*`;
    let dropped = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        const ours = found.filter((key) => locks.has(key) || locks.has(key.slice(0, key.lastIndexOf(':'))));
        for (const key of ours) dropped += await this.client.del(key);
      } while (cursor !== '0');
    }
    return dropped;
  }

  private async lead<T>(lockKey: string, token: string, fetch: () => Promise<T>): Promise<T> {
    try {
      const value = await fetch().catch((error: unknown) => {
        throw new LeaderError(error);
      });
      await this.client.set(`${lockKey}:${token}`, JSON.stringify(value ?? null), 'PX', RESULT_TTL_MS).catch(() => undefined);
      return value;
    } finally {
      await this.client.ccRelease(lockKey, token).catch(() => undefined);
    }
  }
}
