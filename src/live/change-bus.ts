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
  private readonly readyWaitMs: number;
  private publisher?: ReturnType<RedisConnection['create']>;
  private subscriber?: ReturnType<RedisConnection['create']>;

  constructor(
    config: AppConfig,
    private readonly redis: RedisConnection,
  ) {
    this.channel = `${config.redis.keyPrefix}changes`;
    this.readyWaitMs = config.redis.commandTimeoutMs;
  }

  async onModuleInit(): Promise<void> {
    if (!this.redis.enabled) return;
    this.publisher = this.redis.create('changes-pub');
    this.subscriber = this.redis.create('changes-sub');
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      try {
        this.local.emit('change', JSON.parse(message) as ContextChange);
      } catch {
        this.logger.warn('ignored a change message that is not JSON');
      }
    });
    const subscriber = this.subscriber;
    const subscribe = () => subscriber.subscribe(this.channel);
    const subscribeUntilDone = () => void this.redis.subscribeUntilDone(subscriber, 'changes-sub', subscribe);
    // Only once the connection is ready: a SUBSCRIBE that timed out in the offline queue (a slow
    // start) is still sent, and a retry sent beside ioredis's ready check puts the connection in
    // subscriber mode before the check, which then fails, and no change would ever arrive. After
    // the first ready, ioredis subscribes again by itself on every reconnection.
    if (!(await this.ready(subscriber))) {
      // The start goes on; the fan-out follows once Redis answers.
      this.logger.warn('change fan-out not subscribed yet: Redis not ready');
      subscriber.once('ready', subscribeUntilDone);
      return;
    }
    try {
      await subscribe();
    } catch (error) {
      this.logger.warn(`change fan-out not subscribed yet: ${(error as Error).message}`);
      subscribeUntilDone();
    }
  }

  /** Ready within the command timeout, as a command would have been answered. */
  private ready(client: NonNullable<ChangeBus['subscriber']>): Promise<boolean> {
    if (client.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        client.off('ready', onReady);
        resolve(false);
      }, this.readyWaitMs).unref();
      const onReady = () => {
        clearTimeout(timer);
        resolve(true);
      };
      client.once('ready', onReady);
    });
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
