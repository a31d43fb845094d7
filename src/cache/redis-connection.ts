import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { CacheBusMessage, CreateBusDriverResult } from 'bentocache/types';
import Redis, { Cluster, ReplyError, type RedisOptions } from 'ioredis';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';

/** Longest wait for a connection's first answer: ioredis's connect timeout (below) and a margin. */
const FIRST_CONNECTION_MS = 3_000;

/**
 * The service's Redis connections (single node or Cluster), or none in embedded mode.
 * Commands fail at once whenever a connection is not ready (ioredis's `enableOfflineQueue: false`):
 * callers degrade, they never wait for Redis. So that a command sent at start meets an open
 * connection, the application waits for each connection's first answer before it serves (the
 * lifecycle hooks below). Subscriptions, which must outlast an outage, use `subscriber()`.
 * See docs/adr/0003-redis-connections-without-patching.md.
 */
@Injectable()
export class RedisConnection implements OnModuleInit, OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RedisConnection.name);
  private readonly clients: Array<Redis | Cluster> = [];
  /** Per connection: settles with its first `ready` (true) or first failed attempt (false). */
  private readonly firstAnswers = new WeakMap<Redis | Cluster, Promise<boolean>>();
  /** Set on shutdown: a SUBSCRIBE dropped then is not a failure worth a line. */
  private closed = false;
  private shared?: PubSub;
  readonly enabled: boolean;

  constructor(private readonly config: AppConfig) {
    this.enabled = Boolean(config.redis.url || config.redis.clusterNodes?.length);
  }

  /** Options of every command connection. */
  get options(): RedisOptions {
    return {
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      commandTimeout: this.config.redis.commandTimeoutMs,
      connectTimeout: 2_000,
      retryStrategy: (attempt) => Math.min(100 * 2 ** attempt, 2_000),
      lazyConnect: false,
    };
  }

  get url(): string | undefined {
    return this.config.redis.url;
  }

  /**
   * A new connection for commands, failing them at once while Redis is away; closed with the module.
   * `autoPipelining` (ioredis's `enableAutoPipelining`): the commands sent in one event-loop turn
   * leave in one write, for a connection every request uses (the rate limits).
   */
  create(name: string, { autoPipelining = false }: { autoPipelining?: boolean } = {}): Redis | Cluster {
    return this.open(name, autoPipelining ? { ...this.options, enableAutoPipelining: true } : this.options);
  }

  /**
   * A new connection for SUBSCRIBE only (see `subscribe`). Its commands wait in ioredis's offline
   * queue for as long as Redis is away, with no command timeout and no retry limit, and ioredis
   * renews its subscriptions after every reconnect (`autoResubscribe`, on by default).
   */
  subscriber(name: string): Redis | Cluster {
    return this.open(name, { ...this.options, enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
  }

  /**
   * Subscribes a `subscriber()` connection to `channels`. Resolves once Redis has confirmed, or as
   * soon as the connection's first attempt has failed (Redis down at start: the SUBSCRIBE stays
   * queued and goes out when Redis is back). Never rejects; a refusal by Redis is logged.
   */
  async subscribe(client: Redis | Cluster, name: string, ...channels: string[]): Promise<void> {
    const confirmed = client.subscribe(...channels).then(
      () => undefined,
      (error: Error) => {
        if (!this.closed) this.logger.warn(`redis ${name}: SUBSCRIBE refused: ${error.message}`);
      },
    );
    if (await this.firstAnswer(client)) await confirmed;
  }

  /**
   * The instance's one pub/sub transport (see `PubSub`): made on first use, shared by every bus
   * (bentocache's and the change bus), so that what one instance publishes in order reaches every
   * other instance in that order.
   */
  pubSub(): PubSub {
    this.shared ??= new PubSub(this);
    return this.shared;
  }

  /**
   * bentocache's bus (its documented custom bus driver) on the shared `pubSub()`: a publish fails
   * at once while Redis is down (bentocache's retry queue keeps the message and retries once the
   * publisher is back), and no SUBSCRIBE is ever lost to an outage at start.
   */
  busDriver(): CreateBusDriverResult {
    return { options: {}, factory: () => new RedisBus(this.pubSub()) };
  }

  /** Settles with the connection's first answer: true once ready, false once its first attempt failed. */
  firstAnswer(client: Redis | Cluster): Promise<boolean> {
    return this.firstAnswers.get(client) ?? Promise.resolve(client.status === 'ready');
  }

  /** Connections made while the modules were built: commands sent from here on find them open. */
  async onModuleInit(): Promise<void> {
    await this.allAnswered();
  }

  /** Connections made since (in other modules' init, or by the HTTP layer): the same, before serving. */
  async onApplicationBootstrap(): Promise<void> {
    await this.allAnswered();
  }

  private async allAnswered(): Promise<void> {
    const answers = await Promise.all(this.clients.map((client) => this.firstAnswer(client)));
    if (answers.includes(false)) this.logger.warn('Redis is not answering: starting without it, commands fail at once until it is back');
  }

  private open(name: string, options: RedisOptions): Redis | Cluster {
    if (!this.enabled) throw new Error('Redis is not configured');
    const nodes = this.config.redis.clusterNodes;
    const client = nodes?.length
      ? new Cluster(nodes, {
          redisOptions: options,
          scaleReads: 'master',
          enableOfflineQueue: options.enableOfflineQueue,
          enableAutoPipelining: options.enableAutoPipelining,
        })
      : new Redis(this.config.redis.url as string, options);
    client.on('error', (error: Error) => this.logger.warn(`redis ${name}: ${error.message}`));
    this.firstAnswers.set(client, firstAnswerOf(client));
    this.clients.push(client);
    return client;
  }

  /**
   * Closes every connection once the HTTP server has drained (Nest's last shutdown step, after
   * module destroy hooks such as the enrichment workers handing their jobs back, and after the
   * server's close): a request still answered at shutdown reads its consent, cache and budget
   * from Redis like any other, instead of falling back as if Redis were down.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.clients.map(async (client) => {
        // A QUIT sent while a connection is away would wait in its offline queue (behind a
        // SUBSCRIBE, say) until Redis returns: close those at once.
        if (client.status !== 'ready') return client.disconnect();
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
 * For work that cannot go on without Redis (storing a webhook's news): a command that failed
 * without Redis's own reply (a `ReplyError`) was not answered at all (the connection was not
 * ready, closed, or timed out; ioredis gives those plain Errors of no class), so the caller is
 * told to retry later (503 UNAVAILABLE). A reply error is passed on as it is: it is our bug.
 */
export function redisUnavailable(error: unknown): unknown {
  if (error instanceof ReplyError || error instanceof DomainError) return error;
  return new DomainError(ErrorCode.UNAVAILABLE, 'A backing service is unavailable; retry later', { cause: error });
}

/** Settles with true on the connection's first `ready`, false on its first `close` or after FIRST_CONNECTION_MS. */
function firstAnswerOf(client: Redis | Cluster): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const settle = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('close', onClose);
      resolve(ok);
    };
    const onReady = () => settle(true);
    const onClose = () => settle(false);
    const timer = setTimeout(() => settle(false), FIRST_CONNECTION_MS).unref();
    client.once('ready', onReady);
    client.once('close', onClose);
  });
}

type Listener = (message: string) => void;

/**
 * One instance's pub/sub: ONE publisher connection and ONE subscriber connection, every channel
 * of every bus on them. Redis delivers the messages of one subscriber connection in the order it
 * handled their PUBLISHes, and handles one connection's PUBLISHes in the order they were sent;
 * so two messages this instance publishes one after the other (the second sent once the first is
 * answered) reach every other instance in that order, whatever their channels, and are handed to
 * the listeners there one after the other, synchronously. Two subscriber connections would give
 * no such order (nothing orders the reads of two sockets). That is what lets a change be
 * announced as a cache key change and then pushed: a reader that sees the push reads the change.
 *
 * On a Redis Cluster a PUBLISH may go to any node, which forwards it over the cluster bus (one
 * link per pair of nodes, in order); two PUBLISHes sent to two nodes would take two routes and
 * could overtake each other. So every PUBLISH goes to the same node: the first ready master in
 * order of address (ioredis's `Cluster#nodes`), or through the Cluster client while none is
 * ready (it then fails at once). Only a change of that node between two messages (a failover,
 * or the connections to the masters opening after start) can reorder them.
 *
 * A publish fails at once while Redis is away (a command connection); the subscriber connection
 * is `RedisConnection.subscriber()`: its SUBSCRIBEs wait for Redis and are renewed after each
 * reconnect.
 */
export class PubSub {
  private readonly publisher: Redis | Cluster;
  private readonly listener: Redis | Cluster;
  private readonly listeners = new Map<string, Set<Listener>>();

  constructor(private readonly connection: RedisConnection) {
    this.publisher = connection.create('pubsub (publisher)');
    this.listener = connection.subscriber('pubsub (subscriber)');
    // A listener that throws (a message it cannot read, a bug) must not reach ioredis's socket
    // handler: there it would be an uncaught exception, and anyone who can PUBLISH to this Redis
    // could stop every instance with one message.
    const logger = new Logger(PubSub.name);
    this.listener.on('message', (channel: string, message: string) => {
      for (const listener of this.listeners.get(channel) ?? []) {
        try {
          listener(message);
        } catch (error) {
          logger.warn(`a message on a pub/sub channel was not handled: ${(error as Error).message}`);
        }
      }
    });
  }

  /** Resolves once Redis has taken the message; rejects at once while Redis is away. */
  async publish(channel: string, message: string): Promise<void> {
    const client = this.publisher;
    const node = client instanceof Cluster && client.status === 'ready' ? publishingNode(client) : undefined;
    await (node ?? client).publish(channel, message);
  }

  /** Calls `callback` each time the publisher is ready again (after an outage). */
  onPublisherReady(callback: () => void): void {
    this.publisher.on('ready', callback);
  }

  /**
   * Calls `listener` with each message on `channel`. `subscribed` settles as
   * `RedisConnection.subscribe` does (never rejects); `off` stops listening.
   */
  subscribe(channel: string, listener: Listener): { subscribed: Promise<void>; off: () => void } {
    let listeners = this.listeners.get(channel);
    const first = !listeners;
    if (!listeners) this.listeners.set(channel, (listeners = new Set()));
    listeners.add(listener);
    return {
      subscribed: first ? this.connection.subscribe(this.listener, 'pubsub (subscriber)', channel) : Promise.resolve(),
      off: () => this.unsubscribe(channel, listener),
    };
  }

  private unsubscribe(channel: string, listener: Listener): void {
    const listeners = this.listeners.get(channel);
    if (!listeners?.delete(listener) || listeners.size > 0) return;
    this.listeners.delete(channel);
    this.listener.unsubscribe(channel).catch(() => undefined);
  }
}

/** The Cluster node every PUBLISH of this instance goes to: the first ready master by address. */
function publishingNode(cluster: Cluster): Redis | undefined {
  const address = (node: Redis) => `${node.options.host}:${node.options.port}`;
  return cluster
    .nodes('master')
    .filter((node) => node.status === 'ready')
    .sort((a, b) => (address(a) < address(b) ? -1 : address(a) > address(b) ? 1 : 0))[0];
}

type Handler = (message: CacheBusMessage) => void;

/**
 * The bus between instances' bentocache L1s, on the instance's `PubSub`. Messages are JSON
 * `{ busId, payload }`; a bus ignores its own. Implements bentocache's `BusDriver`.
 */
class RedisBus {
  private readonly unsubscribes = new Map<string, Array<() => void>>();
  private id = '';

  constructor(private readonly pubSub: PubSub) {}

  setId(id: string): this {
    this.id = id;
    return this;
  }

  /** bentocache retries the messages it could not publish once this is called. */
  onReconnect(callback: () => void): void {
    this.pubSub.onPublisherReady(callback);
  }

  async publish(channel: string, payload: CacheBusMessage): Promise<void> {
    await this.pubSub.publish(channel, JSON.stringify({ busId: this.id, payload }));
  }

  /** bentocache does not wait for this: it resolves as `RedisConnection.subscribe` does, and never rejects. */
  async subscribe(channel: string, handler: Handler): Promise<void> {
    const { subscribed, off } = this.pubSub.subscribe(channel, (message) => this.receive(message, handler));
    this.unsubscribes.set(channel, [...(this.unsubscribes.get(channel) ?? []), off]);
    await subscribed;
  }

  async unsubscribe(channel: string): Promise<void> {
    for (const off of this.unsubscribes.get(channel) ?? []) off();
    this.unsubscribes.delete(channel);
  }

  /** Stops listening; the connections are closed at shutdown (`RedisConnection.onApplicationShutdown`). */
  async disconnect(): Promise<void> {
    for (const channel of [...this.unsubscribes.keys()]) await this.unsubscribe(channel);
  }

  private receive(message: string, handler: Handler): void {
    let data: unknown;
    try {
      data = JSON.parse(message);
    } catch {
      return;
    }
    if (typeof data !== 'object' || data === null) return;
    const { busId, payload } = data as { busId?: unknown; payload?: unknown };
    if (busId === this.id || typeof payload !== 'object' || payload === null) return;
    handler(payload as CacheBusMessage);
  }
}
