import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { RedisConnection } from '../cache/redis-connection';
import { AppConfig } from '../config/config';
import type { ContextChange } from './change';

/**
 * Fans customer changes out to every instance over Redis pub/sub, so a webhook that lands on
 * one instance reaches agents connected to another. Without Redis the fan-out stays in process.
 * Delivery is at most once: a subscriber that was disconnected resubscribes and reads the
 * current state with a query.
 */
@Injectable()
export class ChangeBus implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(ChangeBus.name);
  private readonly local = new EventEmitter().setMaxListeners(0);
  private readonly channel: string;
  private publisher?: ReturnType<RedisConnection['create']>;
  private subscriber?: ReturnType<RedisConnection['create']>;

  constructor(
    config: AppConfig,
    private readonly redis: RedisConnection,
  ) {
    this.channel = `${config.redis.keyPrefix}changes`;
  }

  async onModuleInit(): Promise<void> {
    if (!this.redis.enabled) return;
    this.publisher = this.redis.create('changes-pub');
    this.subscriber = this.redis.subscriber('changes-sub');
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        this.local.emit('change', JSON.parse(message) as ContextChange);
      } catch {
        this.logger.warn('ignored a change message that is not JSON');
      }
    });
    // With Redis down at start, the start goes on; the fan-out follows once Redis answers.
    await this.redis.subscribe(this.subscriber, 'changes-sub', this.channel);
  }

  async publish(change: ContextChange): Promise<void> {
    if (!this.publisher) {
      this.local.emit('change', change);
      return;
    }
    try {
      await this.publisher.publish(this.channel, JSON.stringify(change));
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
    this.local.removeAllListeners();
  }
}
