import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { DomainError } from '../common/errors';
import type { CachePolicy } from '../config/config';
import { AppConfig } from '../config/config';
import { CacheMetrics, type CacheEventSource } from '../metrics/cache-metrics';
import { runWithPriority } from '../common/priority';
import { RedisConnection, redisUnavailable } from './redis-connection';
import { cacheKeys } from './cache-keys';
import { SingleFlight } from './single-flight';

/** What the cache hands back: the value, when it was fetched upstream, whether it is past its TTL. */
export interface Cached<T> {
  value: T;
  fetchedAt: number;
  /** When the value goes past its TTL (ms since the epoch). */
  expiresAt: number;
  stale: boolean;
  /** Why a stale value is being served: the last refresh's error code. */
  error: string | null;
}

interface Envelope<T> {
  v: T;
  at: number;
  /** The TTL this value was stored with (a remembered "not found" lives shorter). */
  ttl: number;
}

export interface GetOrSetOptions<T> {
  /** A different policy for some values, e.g. a short one for "not found". */
  policyFor?: (value: T) => CachePolicy;
  /**
   * Call the factory even when a fresh value is cached (a forced refresh). If it fails, the last
   * good value (within its grace period) is answered, stale, with the error; it stays cached.
   */
  forceFresh?: boolean;
}

const MAX_REMEMBERED_ERRORS = 10_000;

/**
 * Read-through cache for upstream resources on bentocache: an in-process L1 in front of Redis (L2)
 * with a pub/sub bus that evicts other instances' L1 copies, grace periods (a stale value is
 * served at once while one refresh runs in the background, and kept when the upstream fails),
 * and stampede protection within a process (bentocache) and across processes (SingleFlight).
 * Without Redis it runs on L1 alone.
 */
@Injectable()
export class CacheService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(CacheService.name);
  private readonly bento: BentoCache<{ cache: ReturnType<typeof bentostore> }>;
  private readonly singleFlight?: SingleFlight;
  /** key → error code of its last failed refresh; cleared by the next good one. */
  private readonly refreshErrors = new Map<string, string>();
  readonly mode: 'redis' | 'memory';

  constructor(config: AppConfig, redis: RedisConnection, metrics: CacheMetrics) {
    // L1 entries are stored serialised: bentocache can then bound them in bytes, and its
    // unserialised mode breaks on entries it copies from L2 (they arrive as strings).
    const l1 = memoryDriver({ maxItems: config.cache.l1MaxItems, maxSize: config.cache.l1MaxSizeMb * 1024 * 1024, maxEntrySize: 4 * 1024 * 1024 });
    let store = bentostore().useL1Layer(l1);
    if (redis.enabled) {
      // The bus publishes on a connection that fails at once while Redis is down: bentocache
      // awaits each publish, and a request must not wait for Redis to return.
      store = store.useL2Layer(redisDriver({ connection: redis.create('cache') })).useBus(redis.busDriver());
      this.singleFlight = new SingleFlight(redis.create('cache-locks'), `${config.redis.keyPrefix}`, config.cache.lockTimeoutMs);
      this.mode = 'redis';
    } else {
      this.mode = 'memory';
      this.logger.warn('REDIS_URL is not set: caching in process memory only (not shared between instances)');
    }
    this.bento = new BentoCache({
      default: 'cache',
      prefix: `${config.redis.keyPrefix}c`,
      stores: { cache: store },
      suppressL2Errors: true,
      l2CircuitBreakerDuration: '5s',
      // Soft timeout 0: a value in its grace period is answered at once, refreshed in the background.
      timeout: 0,
      lockTimeout: config.cache.lockTimeoutMs,
    });
    metrics.watch(this.countedEvents());
    // Keys written or dropped here, and keys another instance wrote or dropped (its bus message).
    const changed = (keys: string[]) => this.keysChanged(keys);
    this.bento.on('cache:written', ({ key }: { key: string }) => changed([key]));
    this.bento.on('cache:deleted', ({ key }: { key: string }) => changed([key]));
    this.bento.on('cache:expire' as 'cache:deleted', ({ key }: { key: string }) => changed([key]));
    this.bento.on('bus:message:received', ({ message }: { message: { keys?: string[] } }) => changed(message.keys ?? []));
  }

  private readonly keyListeners = new Set<(keys: string[]) => void>();
  /** Keys whose L2 entry a leader is reading again: a second look, not a lookup to count. */
  private readonly rechecking = new Set<string>();

  private countedEvents(): CacheEventSource {
    const on = (event: string, callback: (data: { key?: string }) => void) =>
      this.bento.on(event as 'cache:hit', (data: { key?: string }) => {
        if (data.key === undefined || !this.rechecking.has(data.key)) callback(data);
      });
    return { on } as CacheEventSource;
  }

  /**
   * Calls `listener` with the keys whose value changed, on this instance or (through the bus) on
   * another; for caches built from these values. Returns the unsubscribe.
   */
  onKeysChanged(listener: (keys: string[]) => void): () => void {
    this.keyListeners.add(listener);
    return () => this.keyListeners.delete(listener);
  }

  /** bentocache builds its store and bus on first use; build them at start, not mid-request. */
  onModuleInit(): void {
    this.bento.use('cache');
  }

  /**
   * The cached value for `key`, or the factory's result stored with the policy's TTL. Past its
   * TTL a value is still answered (stale) for the grace period while one refresh runs; if the
   * refresh fails, the last good value stays. A failed read with nothing stored rejects with what
   * the factory threw (a DomainError stays a DomainError).
   */
  async getOrSet<T>(key: string, policy: CachePolicy, factory: () => Promise<T>, options: GetOrSetOptions<T> = {}): Promise<Cached<T>> {
    const grace = policy.graceMs > 0 ? policy.graceMs : false;
    const fetchEnvelope = async (): Promise<Envelope<T>> => {
      const value = await factory();
      return { v: value, at: Date.now(), ttl: (options.policyFor?.(value) ?? policy).ttlMs };
    };
    const forceFresh = options.forceFresh === true;
    const envelope = await this.bento
      .getOrSet<Envelope<T>>({
        key,
        ttl: policy.ttlMs,
        grace,
        graceBackoff: '5s',
        forceFresh,
        onFactoryError: (error) => this.rememberError(key, error),
        factory: (ctx) =>
          // A factory with a graced entry refreshes a value someone already got: background work.
          runWithPriority(ctx.gracedEntry ? 'background' : 'foreground', async () => {
            let fetched: Envelope<T>;
            if (this.singleFlight) {
              fetched = (
                await this.singleFlight.run(key, () =>
                  forceFresh ? this.fetchAndStore(key, grace, fetchEnvelope) : this.fetchUnlessStored(key, grace, fetchEnvelope),
                )
              ).value;
              // Whoever fetched it stored it in L2 and announced it before letting go of the lock.
              ctx.setOptions({ skipL2Write: true, skipBusNotify: true });
            } else {
              fetched = await fetchEnvelope();
            }
            if (fetched.ttl !== policy.ttlMs) ctx.setOptions({ ttl: fetched.ttl });
            this.refreshErrors.delete(key);
            return fetched;
          }),
      })
      .catch(async (error: unknown) => {
        // bentocache keeps no graced value for a forced call that fails; the stored one is still there.
        const kept = forceFresh ? await this.bento.get<Envelope<T>>({ key, grace }).catch(() => undefined) : undefined;
        if (!kept) throw unwrapped(error);
        return { ...kept, failed: errorCode(error) };
      });
    if ('failed' in envelope) {
      return { value: envelope.v, fetchedAt: envelope.at, expiresAt: envelope.at + envelope.ttl, stale: true, error: envelope.failed };
    }
    const stale = Date.now() - envelope.at > envelope.ttl;
    return {
      value: envelope.v,
      fetchedAt: envelope.at,
      expiresAt: envelope.at + envelope.ttl,
      stale,
      error: stale ? (this.refreshErrors.get(key) ?? null) : null,
    };
  }

  /**
   * The cross-instance leader's work, under its lock. bentocache read L2 before the lock was
   * ours: another instance may have stored a fresh value since (its lock was released after its
   * write), and that value is used rather than fetched again. A fetched value is stored in both
   * tiers and announced before the lock is released, so the next leader finds it.
   */
  private async fetchUnlessStored<T>(key: string, grace: number | false, fetchEnvelope: () => Promise<Envelope<T>>): Promise<Envelope<T>> {
    this.rechecking.add(key);
    const stored = await this.bento.get<Envelope<T>>({ key }).finally(() => this.rechecking.delete(key));
    if (stored && Date.now() - stored.at <= stored.ttl) return stored;
    return this.fetchAndStore(key, grace, fetchEnvelope);
  }

  private async fetchAndStore<T>(key: string, grace: number | false, fetchEnvelope: () => Promise<Envelope<T>>): Promise<Envelope<T>> {
    const fetched = await fetchEnvelope();
    await this.bento.set({ key, value: fetched, ttl: fetched.ttl, grace });
    return fetched;
  }

  /** The cached value without calling anything upstream; undefined when nothing is cached. */
  async peek<T>(key: string): Promise<Cached<T> | undefined> {
    const envelope = await this.bento.get<Envelope<T>>({ key });
    if (!envelope) return undefined;
    const stale = Date.now() - envelope.at > envelope.ttl;
    return { value: envelope.v, fetchedAt: envelope.at, expiresAt: envelope.at + envelope.ttl, stale, error: null };
  }

  /**
   * Changes a cached value in place (a webhook told us what changed). The entry keeps its fetch
   * time and so its expiry: it is still refreshed from the upstream on schedule. Nothing is
   * written when the key is not cached.
   */
  async update<T>(key: string, change: (value: T) => T): Promise<T | undefined> {
    const envelope = await this.bento.get<Envelope<T>>({ key });
    if (!envelope) return undefined;
    const value = change(envelope.v);
    const remaining = envelope.at + envelope.ttl - Date.now();
    if (remaining <= 0) {
      // Already past its TTL: drop it so the next read fetches, rather than extend it.
      await this.delete([key]);
      return value;
    }
    await this.bento.set({ key, value: { ...envelope, v: value }, ttl: remaining });
    return value;
  }

  /** Stores a value that did not come from a factory (e.g. a webhook's record of changes). */
  async put<T>(key: string, value: T, ttlMs: number): Promise<void> {
    await this.bento.set({ key, value: { v: value, at: Date.now(), ttl: ttlMs }, ttl: ttlMs, grace: false });
  }

  /** Drops keys here and, through the bus, in every other instance's L1. */
  async delete(keys: string[]): Promise<void> {
    // One key at a time: a pipeline over keys of different Cluster slots would be refused.
    await Promise.all(keys.map((key) => this.bento.delete({ key })));
  }

  /**
   * Announces that keys changed whose data the cache does not hold (a webhook's news of a profile,
   * `cacheKeys.news`): the `onKeysChanged` listeners hear it here at once, and on every other
   * instance through bentocache's bus. Resolves once the bus has published it (or queued it for
   * retry while Redis is away).
   */
  async announce(keys: string[]): Promise<void> {
    await this.delete(keys);
  }

  /**
   * Tells this instance's `onKeysChanged` listeners, and nobody else, that keys changed on
   * another instance which could not say so through the bus (an instance of an earlier version,
   * whose change message is all there is).
   */
  changedElsewhere(keys: string[]): void {
    this.keysChanged(keys);
  }

  /**
   * Calls `listener` with the profile whose news key (`cacheKeys.news`) changed: a webhook's
   * change to it, on this instance or another. For what is memoised from a profile's news.
   */
  onProfileNews(listener: (profileKey: string) => void): () => void {
    return this.onKeysChanged((keys) => {
      for (const key of keys) {
        const profileKey = cacheKeys.profileOfNews(key);
        if (profileKey !== undefined) listener(profileKey);
      }
    });
  }

  private keysChanged(keys: string[]): void {
    for (const listener of this.keyListeners) listener(keys);
  }

  /**
   * Drops keys like `delete`, and with them whatever the cross-instance stampede locks still hold
   * of their values (an erasure). Returns how many lock entries went too.
   */
  async erase(keys: string[]): Promise<number> {
    await this.delete(keys);
    if (!this.singleFlight) return 0;
    try {
      return await this.singleFlight.forget(keys);
    } catch (error) {
      // An erasure Redis did not take is refused with 503, so whoever asked for it retries.
      throw redisUnavailable(error);
    }
  }

  /** After the HTTP server has drained (`RedisConnection.onApplicationShutdown`). */
  async onApplicationShutdown(): Promise<void> {
    await this.bento.disconnectAll();
  }

  private rememberError(key: string, error: unknown): void {
    if (this.refreshErrors.size >= MAX_REMEMBERED_ERRORS) this.refreshErrors.delete(this.refreshErrors.keys().next().value as string);
    this.refreshErrors.set(key, errorCode(error));
  }
}

/** What a factory threw: bentocache wraps it, and the adapter's DomainError is its cause. */
function unwrapped(error: unknown): unknown {
  const cause = error instanceof DomainError ? error : (error as { cause?: unknown })?.cause;
  return cause instanceof DomainError ? cause : error;
}

function errorCode(error: unknown): string {
  const cause = unwrapped(error);
  return cause instanceof DomainError ? cause.code : 'INTERNAL';
}
