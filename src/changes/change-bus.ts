import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { RedisConnection, type PubSub } from '../cache/redis-connection';
import { AppConfig } from '../config/config';
import type { ContextChange } from './change';

/** On the wire: the change, and which instance published it (absent from older instances). */
type ChangeMessage = ContextChange & { origin?: string };

/**
 * Fans customer changes out to every instance over Redis pub/sub, so a webhook that lands on
 * one instance reaches agents connected to another. Without Redis the fan-out stays in process.
 * The instance that publishes a change delivers it to its own listeners itself, whatever Redis
 * does (down, or back while this instance's subscription is still renewing), and skips its own
 * message when Redis echoes it. Delivery to the others is at most once: a subscriber that was
 * disconnected resubscribes and reads the current state with a query.
 *
 * It carries news to subscribers, nothing else: what was built from a profile's webhook news
 * (kept answers, the pending overlay's memo, kept records' memo) is dropped by the change of the
 * profile's news key (`cacheKeys.news`), announced through the cache (bentocache's bus) before
 * the push. Both buses share the instance's one pub/sub transport (`RedisConnection.pubSub`), so
 * every instance hears the key change before the push: a panel that reads the customer again on
 * the push reads the change.
 */
@Injectable()
export class ChangeBus implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(ChangeBus.name);
  private readonly local = new EventEmitter().setMaxListeners(0);
  private readonly channel: string;
  /** Marks this instance's messages, so the echo from Redis is not delivered twice. */
  private readonly origin = randomUUID();
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
      const parsed = changeMessageOf(message);
      if (!parsed) {
        this.logger.warn('ignored a change message that is not a change');
        return;
      }
      const { origin, ...change } = parsed;
      if (origin === this.origin) return;
      // From an instance of an earlier version, which announces no news key: what was built from
      // the profile is dropped here, as that instance would have had it dropped.
      if (origin === undefined) this.cache.changedElsewhere([cacheKeys.news(change.profileId)]);
      this.local.emit('change', change);
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
    // This instance's agents hear of it from here, not from Redis: its subscription may be
    // renewing after an outage while its publisher is already back, and the echo would be lost.
    this.local.emit('change', change);
    if (!this.pubSub) return;
    try {
      await this.pubSub.publish(this.channel, JSON.stringify({ ...change, origin: this.origin } satisfies ChangeMessage));
    } catch (error) {
      this.logger.warn(`change not fanned out, delivered on this instance only: ${(error as Error).message}`);
    }
  }

  onChange(listener: (change: ContextChange) => void): () => void {
    this.local.on('change', listener);
    return () => this.local.off('change', listener);
  }

  /** After the HTTP server has drained (`RedisConnection.onApplicationShutdown`). */
  onApplicationShutdown(): void {
    this.off?.();
    this.local.removeAllListeners();
  }
}

/** A change message as published (`publish`), or null for anything else on the channel. */
function changeMessageOf(message: string): ChangeMessage | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const candidate = parsed as Partial<ChangeMessage>;
  if (typeof candidate.profileId !== 'string' || (candidate.origin !== undefined && typeof candidate.origin !== 'string')) return null;
  return candidate as ChangeMessage;
}
