import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import Redis, { type Cluster } from 'ioredis';
import { startRedisCluster } from '../../test/support/redis-cluster';
import { freePort, startRedisServer, type RedisServer } from '../../test/support/redis-server';
import { loadConfig } from '../config/config';
import { RedisConnection, redisUnavailable } from './redis-connection';
import { eventually } from '../../test/support/eventually';

const connectionTo = (port: number, commandTimeoutMs = 200) =>
  new RedisConnection(loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: String(commandTimeoutMs) }));

/** Resolves once `client` has failed `attempts` connection attempts (Redis is away). */
const failedAttempts = (client: Redis | Cluster, attempts: number) =>
  new Promise<void>((resolve) => {
    let seen = 0;
    const onReconnecting = () => {
      if (++seen < attempts) return;
      client.off('reconnecting', onReconnecting);
      resolve();
    };
    client.on('reconnecting', onReconnecting);
  });

/** Publishes until `receivers` subscribers got the message (a subscription lands a moment after Redis is back). */
async function publishUntilHeard(port: number, channel: string, message: string, receivers = 1): Promise<void> {
  const publisher = new Redis(port, '127.0.0.1');
  try {
    await eventually(
      () => publisher.publish(channel, message),
      (heard) => heard >= receivers,
      5_000,
      `${receivers} subscriber(s) of ${channel}`,
    );
  } finally {
    publisher.disconnect();
  }
}

/** Collects unhandled rejections; `settled()` lets any pending one surface first. */
function unhandledRejections() {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  return {
    seen,
    async settled() {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return seen;
    },
    stop: () => process.off('unhandledRejection', onUnhandled),
  };
}

/** Connections on a real redis-server that starts late, stops and comes back. */
describe(RedisConnection.name, () => {
  let server: RedisServer | undefined;
  const connections: RedisConnection[] = [];
  const connect = (port: number, commandTimeoutMs?: number) => {
    const connection = connectionTo(port, commandTimeoutMs);
    connections.push(connection);
    return connection;
  };
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.onApplicationShutdown()));
    await server?.stop();
    server = undefined;
  });

  it('keeps a SUBSCRIBE made while Redis is down until Redis answers, then delivers, without holding up the start', async () => {
    const port = await freePort();
    const connection = connect(port);
    const unhandled = unhandledRejections();
    try {
      const listener = connection.subscriber('changes-sub');
      const received: string[] = [];
      listener.on('message', (_channel: string, message: string) => received.push(message));
      const attempts = failedAttempts(listener, 3);
      await connection.subscribe(listener, 'changes-sub', 'changes'); // returns: its first attempt failed
      await attempts;
      server = await startRedisServer([], port);
      await publishUntilHeard(port, 'changes', 'hello');
      await eventually(
        () => received.length,
        (n) => n > 0,
        5_000,
        'the message',
      );
      expect(received).toEqual(['hello']);
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });

  it('renews its subscriptions after Redis restarts', async () => {
    server = await startRedisServer();
    const port = Number(new URL(server.url).port);
    const connection = connect(port);
    const listener = connection.subscriber('changes-sub');
    const received: string[] = [];
    listener.on('message', (_channel: string, message: string) => received.push(message));
    await connection.subscribe(listener, 'changes-sub', 'changes');
    await publishUntilHeard(port, 'changes', 'before');
    const away = failedAttempts(listener, 1);
    await server.kill();
    await away;
    await server.start();
    await publishUntilHeard(port, 'changes', 'after');
    await eventually(
      () => received.length,
      (n) => n >= 2,
      5_000,
      'the message after the restart',
    );
    expect(received).toEqual(['before', 'after']);
  });

  it("carries bentocache's bus between instances whose bus subscribed while Redis was down", async () => {
    const port = await freePort();
    const unhandled = unhandledRejections();
    const bentos: Array<BentoCache<{ cache: ReturnType<typeof bentostore> }>> = [];
    const l2: Array<Redis | Cluster> = [];
    try {
      for (let i = 0; i < 2; i++) {
        const connection = connect(port);
        l2.push(connection.create('cache'));
        const store = bentostore()
          .useL1Layer(memoryDriver({ maxItems: 100 }))
          .useL2Layer(redisDriver({ connection: l2[i] }))
          .useBus(connection.busDriver());
        const bento = new BentoCache({ default: 'cache', stores: { cache: store } });
        bento.use('cache'); // builds the bus: it subscribes now, with Redis still away
        bentos.push(bento);
      }
      const [a, b] = bentos;
      server = await startRedisServer([], port);
      // Both buses are listening once a message on their channel reaches two subscribers.
      await publishUntilHeard(port, 'bentocache.notifications:cache', 'not a bus message', 2);
      for (const client of l2) await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
      await a.set({ key: 'k', value: 'one' });
      expect(await b.get({ key: 'k' })).toBe('one'); // now in b's L1 too
      await a.set({ key: 'k', value: 'two' }); // the bus tells b its copy is out of date
      expect(
        await eventually(
          () => b.get({ key: 'k' }),
          (seen) => seen === 'two',
          5_000,
          "b's copy after the bus",
        ),
      ).toBe('two');
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
      await Promise.all(bentos.map((bento) => bento.disconnectAll()));
    }
  });

  it("puts bentocache's bus and every other channel on one subscriber connection, and delivers one instance's messages in order", async () => {
    server = await startRedisServer();
    const port = Number(new URL(server.url).port);
    const [a, b] = [connect(port), connect(port)];
    const received: string[] = [];
    const bentos: Array<BentoCache<{ cache: ReturnType<typeof bentostore> }>> = [];
    try {
      for (const connection of [a, b]) {
        const store = bentostore()
          .useL1Layer(memoryDriver({ maxItems: 100 }))
          .useBus(connection.busDriver());
        const bento = new BentoCache({ default: 'cache', stores: { cache: store } });
        bento.on('bus:message:received', ({ message }: { message: { keys?: string[] } }) => received.push(`key ${message.keys?.join()}`));
        bento.use('cache');
        bentos.push(bento);
      }
      await b.pubSub().subscribe('changes', (message) => received.push(message)).subscribed;
      await b.onApplicationBootstrap();
      // One instance's publishes, one after the other: a key change, then a change on another channel.
      const [bentoA] = bentos;
      await publishUntilHeard(port, 'bentocache.notifications:cache', 'not a bus message', 2);
      await bentoA.delete({ key: 'p:{use_1}:news' });
      await a.pubSub().publish('changes', 'pushed');
      for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(received).toEqual(['key p:{use_1}:news', 'pushed']);
      // Each instance: one connection subscribed to both channels (or to bentocache's only, for a),
      // one publisher; nothing else subscribes.
      const admin = new Redis(port, '127.0.0.1');
      try {
        const clients = (await admin.client('LIST')) as string;
        const subscribed = clients
          .split('\n')
          .map((line) => /\bsub=(\d+)/.exec(line)?.[1])
          .filter((n): n is string => n !== undefined && n !== '0')
          .sort();
        expect(subscribed).toEqual(['1', '2']);
      } finally {
        admin.disconnect();
      }
    } finally {
      await Promise.all(bentos.map((bento) => bento.disconnectAll()));
    }
  });

  it('closes at once on shutdown while a SUBSCRIBE waits for Redis, quietly', async () => {
    const connection = connect(await freePort());
    const unhandled = unhandledRejections();
    try {
      const listener = connection.subscriber('changes-sub');
      const attempts = failedAttempts(listener, 1);
      await connection.subscribe(listener, 'changes-sub', 'changes');
      await attempts;
      await connection.onApplicationShutdown(); // a QUIT queued behind the SUBSCRIBE would wait here for good
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });

  it('holds the start until every connection has answered, then fails commands at once while Redis is down', async () => {
    server = await startRedisServer();
    const port = Number(new URL(server.url).port);
    // A command timeout longer than the test's: a command that waited for it would fail the test.
    const connection = connect(port, 60_000);
    const client = connection.create('cache');
    await connection.onModuleInit();
    expect(client.status).toBe('ready');
    const late = connection.create('pending'); // made in another module's init
    await connection.onApplicationBootstrap();
    expect(late.status).toBe('ready');
    await expect(client.set('k', 'v')).resolves.toBe('OK');
    const away = Promise.all([client, late].map((c) => failedAttempts(c, 1)));
    await server.kill();
    await away;
    for (const c of [client, late]) await expect(c.get('k')).rejects.toThrow(/enableOfflineQueue/);
    await server.start();
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
    await expect(client.get('k')).resolves.toBeNull(); // a fresh server: nothing saved
  }, 15_000);

  it('starts without Redis when it is down at start, and serves from it once it is back', async () => {
    const port = await freePort();
    const connection = connect(port, 60_000);
    const client = connection.create('cache');
    await connection.onModuleInit(); // settles on the first failed attempt
    await expect(client.get('k')).rejects.toThrow(/enableOfflineQueue/);
    server = await startRedisServer([], port);
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
    await expect(client.set('k', 'v')).resolves.toBe('OK');
  }, 15_000);
});

describe('RedisConnection.pubSub on a Redis Cluster', () => {
  /** PUBLISH commands each node has executed (INFO commandstats; a message forwarded over the cluster bus is not one). */
  const publishes = async (ports: number[]) =>
    Promise.all(
      ports.map(async (port) => {
        const node = new Redis(port, '127.0.0.1');
        try {
          return Number(/cmdstat_publish:calls=(\d+)/.exec(await node.info('commandstats'))?.[1] ?? 0);
        } finally {
          node.disconnect();
        }
      }),
    );

  it('sends every PUBLISH of an instance to one node, so two of its messages take the same route to every subscriber', async () => {
    const cluster = await startRedisCluster();
    const ports = cluster.nodes.split(',').map((node) => Number(node.split(':')[1]));
    const connection = new RedisConnection(loadConfig({ REDIS_CLUSTER_NODES: cluster.nodes }));
    try {
      const pubSub = connection.pubSub();
      await connection.onModuleInit();
      // Every master's connection open (they open at start, after the Cluster itself is ready).
      const publisher = (pubSub as unknown as { publisher: Cluster }).publisher;
      for (let i = 0; i < 200 && publisher.nodes('master').filter((node) => node.status === 'ready').length < 3; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      const before = await publishes(ports);
      for (let i = 0; i < 30; i++) await pubSub.publish('changes', `m${i}`);
      const after = await publishes(ports);
      expect(after.map((n, i) => n - before[i]).sort((x, y) => x - y)).toEqual([0, 0, 30]);
    } finally {
      await connection.onApplicationShutdown();
      await cluster.stop();
    }
  }, 60_000);
});

describe('redisUnavailable', () => {
  it('calls a command Redis never answered UNAVAILABLE, and passes a reply of Redis on', async () => {
    const port = await freePort();
    const connection = connectionTo(port);
    const client = connection.create('test');
    let server: RedisServer | undefined;
    try {
      await connection.firstAnswer(client);
      const unsent: unknown = await client.set('k', 'v').catch((error: unknown) => error);
      expect(redisUnavailable(unsent)).toMatchObject({ code: 'UNAVAILABLE', cause: unsent });
      server = await startRedisServer([], port);
      await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
      await client.set('k', 'not a number');
      const reply: unknown = await client.incr('k').catch((error: unknown) => error);
      expect(reply).toBeInstanceOf(Error);
      expect(redisUnavailable(reply)).toBe(reply);
    } finally {
      await connection.onApplicationShutdown();
      await server?.stop();
    }
  }, 15_000);
});
