import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { AppConfig } from '../config/config';

/**
 * The service's Redis connections (single node or Cluster), or none in embedded mode.
 * Commands fail fast when Redis is down instead of queueing: callers degrade, they never hang.
 * They queue only until a connection is first ready (a library subscribes at start).
 */
@Injectable()
export class RedisConnection implements OnModuleDestroy {
  private readonly logger = new Logger(RedisConnection.name);
  private readonly clients: Array<Redis | Cluster> = [];
  /** Set on shutdown: ioredis leaves a client that was reconnecting in that status once quit. */
  private closed = false;
  readonly enabled: boolean;

  constructor(private readonly config: AppConfig) {
    this.enabled = Boolean(config.redis.url || config.redis.clusterNodes?.length);
  }

  /** Options shared by every connection; also handed to bentocache's bus, which opens its own. */
  get options(): RedisOptions {
    return {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: true,
      commandTimeout: this.config.redis.commandTimeoutMs,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
      lazyConnect: false,
    };
  }

  get url(): string | undefined {
    return this.config.redis.url;
  }

  /** A new connection; closed with the module. */
  create(name: string): Redis | Cluster {
    const options = this.options;
    if (!this.enabled) throw new Error('Redis is not configured');
    const nodes = this.config.redis.clusterNodes;
    const client = nodes?.length
      ? this.cluster(nodes, options)
      : new Redis(this.config.redis.url as string, options);
    this.watch(failFastOnceReady(client), name);
    // Libraries duplicate the connections they are given (bentocache's bus makes a publisher and
    // a subscriber): the copies get the same error logging and are closed with the rest. The bus
    // subscribes without waiting and, when SUBSCRIBE fails (Redis slow or down at start), drops
    // its handler for good (an unhandled rejection, then an L1 no other instance can evict): a
    // copy's SUBSCRIBE is retried until Redis answers instead.
    const duplicate = client.duplicate.bind(client) as (...args: unknown[]) => Redis | Cluster;
    client.duplicate = ((...args: unknown[]) => {
      const copy = this.watch(failFastOnceReady(duplicate(...args)), `${name} (copy)`);
      const subscribe = copy.subscribe.bind(copy) as (...channels: string[]) => Promise<unknown>;
      copy.subscribe = ((...channels: string[]) => this.subscribeUntilDone(copy, `${name} (copy)`, () => subscribe(...channels))) as typeof copy.subscribe;
      return copy;
    }) as typeof client.duplicate;
    return client;
  }

  /**
   * Runs `subscribe` until Redis answers it, with backoff; gives up only once the connections
   * are closed. A subscriber that gave up would miss every later message.
   */
  async subscribeUntilDone(client: Redis | Cluster, name: string, subscribe: () => Promise<unknown>): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await subscribe();
      } catch (error) {
        if (this.closed || client.status === 'end') return 0;
        this.logger.warn(`redis ${name}: SUBSCRIBE failed, retrying: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, Math.min(100 * 2 ** attempt, 2_000)));
      }
    }
  }

  private cluster(nodes: Array<{ host: string; port: number }>, options: RedisOptions): Cluster {
    return new Cluster(nodes, { redisOptions: options, scaleReads: 'master', enableOfflineQueue: true });
  }

  private watch<T extends Redis | Cluster>(client: T, name: string): T {
    client.on('error', (error: Error) => this.logger.warn(`redis ${name}: ${error.message}`));
    this.clients.push(client);
    return client;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.clients.map(async (client) => {
        try {
          await client.quit();
        } catch {
          client.disconnect();
        }
      }),
    );
  }
}

/**
 * Commands wait in ioredis's offline queue while there is no connection: a Cluster's without
 * any timeout, a single node's until the command timeout, so every lookup during an outage
 * would cost that timeout. Queueing is wanted at start (the bus subscribes before the first
 * connection), never afterwards: once ready, commands fail at once while Redis is down.
 */
function failFastOnceReady<T extends Redis | Cluster>(client: T): T {
  // A copy made after its original was ready inherits the original's options.
  client.options.enableOfflineQueue = true;
  client.once('ready', () => {
    client.options.enableOfflineQueue = false;
  });
  return client;
}
