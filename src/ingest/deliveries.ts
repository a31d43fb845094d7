import { Injectable } from '@nestjs/common';
import { cacheKeys } from '../cache/cache-keys';
import { RedisConnection } from '../cache/redis-connection';
import { AppConfig } from '../config/config';
import { IdentifierDigest } from '../common/identifier-digest';

/** Segment retries for up to 4 hours; remembering a day covers every retry. */
const REMEMBER_MS = 24 * 60 * 60_000;
const MAX_LOCAL = 100_000;

/**
 * Remembers webhook deliveries already handled, across instances (SET NX in Redis), so a retried
 * delivery changes nothing twice. In embedded mode, per process.
 */
@Injectable()
export class Deliveries {
  private readonly client?: ReturnType<RedisConnection['create']>;
  private readonly local = new Map<string, number>();

  constructor(
    private readonly config: AppConfig,
    redis: RedisConnection,
    private readonly ids: IdentifierDigest,
  ) {
    if (redis.enabled) this.client = redis.create('deliveries');
  }

  /** True the first time a delivery id is seen. Redis failing counts as first: better twice than never. */
  async first(source: string, id: string): Promise<boolean> {
    const key = `${this.config.redis.keyPrefix}${cacheKeys.delivery(this.ids, source, id)}`;
    if (this.client) {
      try {
        return (await this.client.set(key, '1', 'PX', REMEMBER_MS, 'NX')) === 'OK';
      } catch {
        return this.firstLocally(key);
      }
    }
    return this.firstLocally(key);
  }

  /**
   * Forgets a delivery whose work failed after `first` said it was new, so that the sender's retry
   * is done rather than taken for a duplicate. Best effort: Redis failing leaves it remembered.
   */
  async forget(source: string, id: string): Promise<void> {
    const key = `${this.config.redis.keyPrefix}${cacheKeys.delivery(this.ids, source, id)}`;
    this.local.delete(key);
    await this.client?.del(key).catch(() => undefined);
  }

  private firstLocally(key: string): boolean {
    const now = Date.now();
    const seen = this.local.get(key);
    if (seen !== undefined && seen > now) return false;
    if (this.local.size >= MAX_LOCAL) this.local.delete(this.local.keys().next().value as string);
    this.local.set(key, now + REMEMBER_MS);
    return true;
  }
}
