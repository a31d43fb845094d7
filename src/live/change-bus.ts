import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { RedisConnection, type PubSub } from '../cache/redis-connection';
import { AppConfig } from '../config/config';
import type { ContextChange } from './change';

/**
 * Fans customer changes out to every instance over Redis pub/sub, so a webhook that lands on
 * one instance reaches agents connected to another. Without Redis the fan-out stays in process.
 * Delivery is at most once: a subscriber that was disconnected resubscribes and reads the
 * current state with a query.
 *
 * It carries news to subscribers, nothing else: what was built from a profile's webhook news
 * (kept answers, the pending overlay's memo, kept records' memo) is dropped by the change of the
 * profile's news key (`cacheKeys.news`), announced through the cache (bentocache's bus) before
 * the push. Both buses share the instance's one pub/sub transport (`RedisConnection.pubSub`), so
 * every instance hears the key change before the push: a panel that reads the customer again on
 * the push reads the change.
 */
@Injectable()
export class ChangeBus implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ChangeBus.name);
  private readonly local = new EventEmitter().setMaxListeners(0);
  private readonly channel: string;
  private pubSub?: PubSub;
  private off?: () => void;

  constructor(
    config: AppConfig,
    private readonly redis: RedisConnection,
    private readonly cache: CacheService,
  ) {
    this.channel = `${config.redis.keyPrefix}changes`;
  }

  async onModuleInit(): Promise<void> {
    if (!this.redis.enabled) return;
    this.pubSub = this.redis.pubSub();
    const { subscribed, off } = this.pubSub.subscribe(this.channel, (message) => {
      try {
        this.local.emit('change', JSON.parse(message) as ContextChange);
      } catch {
        this.logger.warn('ignored a change message that is not JSON');
      }
    });
    this.off = off;
    // With Redis down at start, the start goes on; the fan-out follows once Redis answers.
    await subscribed;
  }

  /**
   * Announces the profile's news key as changed (here at once, elsewhere through bentocache's
   * bus), and once that is published, pushes the change to every instance's subscribers.
   */
  async publish(change: ContextChange): Promise<void> {
    await this.cache.announce([cacheKeys.news(change.profileId)]);
    if (!this.pubSub) {
      this.local.emit('change', change);
      return;
    }
    try {
      await this.pubSub.publish(this.channel, JSON.stringify(change));
    } catch (error) {
      // Redis down: at least this instance's agents hear of it.
      this.logger.warn(`change not fanned out, delivering locally: ${(error as Error).message}`);
      this.local.emit('change', change);
    }
  }

  onChange(listener: (change: ContextChange) => void): () => void {
    this.local.on('change', listener);
    return () => this.local.off('change', listener);
  }

  onModuleDestroy(): void {
    this.off?.();
    this.local.removeAllListeners();
  }
}
