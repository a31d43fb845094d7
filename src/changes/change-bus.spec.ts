import Redis from 'ioredis';
import { startRedisServer, type RedisServer } from '../../test/support/redis-server';
import type { CacheService } from '../cache/cache.service';
import { RedisConnection, type PubSub } from '../cache/redis-connection';
import { type AppConfig, loadConfig } from '../config/config';
import type { ContextChange } from './change';
import { ChangeBus } from './change-bus';

const change: ContextChange = { profileId: 'use_1', parts: ['traits'], source: 'segment', at: '2026-01-01T00:00:00.000Z', traits: { plan: 'gold' } };

/** The order a change leaves in: its key change announced (and published) before the push is sent. */
describe('ChangeBus', () => {
  const config = { redis: { keyPrefix: 'cc:' } } as AppConfig;

  it('pushes a change only once the key change of its profile is published', async () => {
    const sent: Array<{ push: string; announcedBefore: boolean }> = [];
    let announced = false;
    const cache = {
      announce: async (keys: string[]) => {
        await Promise.resolve(); // published a moment later, as over Redis
        expect(keys).toEqual(['p:{use_1}:news']);
        announced = true;
      },
    } as unknown as CacheService;
    const pubSub = {
      subscribe: () => ({ subscribed: Promise.resolve(), off: () => undefined }),
      publish: async (channel: string, message: string) => {
        sent.push({ push: `${channel} ${message}`, announcedBefore: announced });
      },
    } as unknown as PubSub;
    const bus = new ChangeBus(config, { enabled: true, pubSub: () => pubSub } as unknown as RedisConnection, cache);
    await bus.onModuleInit();
    await bus.publish(change);
    // The message names its publisher (so its own echo is skipped) beside the change.
    expect(
      sent.map(({ push, announcedBefore }) => {
        const [channel, ...json] = push.split(' ');
        const { origin, ...pushed } = JSON.parse(json.join(' ')) as ContextChange & { origin?: string };
        return { channel, pushed, origin: typeof origin, announcedBefore };
      }),
    ).toEqual([{ channel: 'cc:changes', pushed: change, origin: 'string', announcedBefore: true }]);
  });

  it('without Redis, hands the change to its listeners once the key change is announced', async () => {
    const order: string[] = [];
    const cache = {
      announce: async () => {
        await Promise.resolve();
        order.push('key change');
      },
    } as unknown as CacheService;
    const bus = new ChangeBus(config, { enabled: false } as unknown as RedisConnection, cache);
    await bus.onModuleInit();
    bus.onChange((c) => order.push(`push ${c.profileId}`));
    await bus.publish(change);
    expect(order).toEqual(['key change', 'push use_1']);
  });
});

const changeWith = (id: string): ContextChange => ({
  profileId: 'use_1',
  parts: ['events'],
  source: 'segment',
  at: new Date(0).toISOString(),
  event: { id, type: 'track', name: 'Soak Event', occurredAt: new Date(0).toISOString(), properties: null },
});

/** Resolves with the first change `bus` delivers whose event id is `id`. */
const heard = (bus: ChangeBus, id: string) =>
  new Promise<ContextChange>((resolve) => {
    const off = bus.onChange((c) => {
      if (c.event?.id !== id) return;
      off();
      resolve(c);
    });
  });

/** Two instances' change buses on a real redis-server. */
describe('ChangeBus on a real Redis', () => {
  let server: RedisServer;
  const connections: RedisConnection[] = [];
  /** Keys each instance's cache was told changed elsewhere (`changedElsewhere`). */
  const toldChanged = new Map<ChangeBus, string[][]>();
  const instance = async () => {
    const connection = new RedisConnection(loadConfig({ REDIS_URL: server.url, REDIS_KEY_PREFIX: `bus${process.pid}:` }));
    connections.push(connection);
    // The cache's announcement of the key change is not what these tests are about.
    const told: string[][] = [];
    const cache = { announce: async () => undefined, changedElsewhere: (keys: string[]) => told.push(keys) } as unknown as CacheService;
    const bus = new ChangeBus(loadConfig({ REDIS_URL: server.url, REDIS_KEY_PREFIX: `bus${process.pid}:` }), connection, cache);
    await bus.onModuleInit();
    await connection.onApplicationBootstrap();
    toldChanged.set(bus, told);
    return bus;
  };

  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await Promise.all(connections.map((c) => c.onApplicationShutdown()));
    await server.stop();
  });

  it("delivers a change to the publishing instance's listeners while its subscription renews, and once only", async () => {
    const [a, b] = [await instance(), await instance()];
    const onA: string[] = [];
    a.onChange((c) => onA.push(c.event!.id));
    // Redis drops every subscriber connection (as when it restarts); the publishers stay up, so a
    // change published now reaches Redis while no instance is subscribed.
    const admin = new Redis(server.url);
    try {
      await admin.client('KILL', 'TYPE', 'pubsub');
    } finally {
      admin.disconnect();
    }
    const own = heard(a, 'E1');
    await a.publish(changeWith('E1'));
    await own;
    // Once the subscriptions are back, a change reaches the other instance through Redis (the
    // barrier: B hears E2) and A hears it once; A never heard its own E1 a second time.
    for (let i = 0; ; i++) {
      const other = heard(b, `E2-${i}`);
      await a.publish(changeWith(`E2-${i}`));
      const got = await Promise.race([other.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 200))]);
      if (got) break;
    }
    const sentinel = heard(a, 'E3');
    await b.publish(changeWith('E3'));
    await sentinel;
    expect(onA.filter((id) => id === 'E1')).toEqual(['E1']);
    expect(onA.filter((id) => id.startsWith('E2-')).every((id, i, all) => all.indexOf(id) === i)).toBe(true);
    expect(onA).toContain('E3');
    // With A's subscription known to be live (it heard E3), A's own E4 comes back from Redis and
    // is skipped: A hears it once, from itself, by the time it hears B's E5.
    const fromB = heard(b, 'E4');
    await a.publish(changeWith('E4'));
    await fromB;
    const last = heard(a, 'E5');
    await b.publish(changeWith('E5'));
    await last;
    expect(onA.filter((id) => id === 'E4')).toEqual(['E4']);
  });

  it('ignores what is not a change on its channel, and keeps delivering', async () => {
    const [a, b] = [await instance(), await instance()];
    const admin = new Redis(server.url);
    try {
      for (const junk of ['null', '[]', '42', '"text"', '{"x":1}', '{"profileId":7}', 'not json']) await admin.publish(`bus${process.pid}:changes`, junk);
    } finally {
      admin.disconnect();
    }
    const sentinel = heard(a, 'J1');
    await b.publish(changeWith('J1'));
    expect((await sentinel).event?.id).toBe('J1');
  });

  it('drops what was built from the profile on a change from an instance of an earlier version, which announces no key', async () => {
    const a = await instance();
    const { origin: _none, ...older } = { ...changeWith('OLD1'), origin: undefined };
    const got = heard(a, 'OLD1');
    const admin = new Redis(server.url);
    try {
      await admin.publish(`bus${process.pid}:changes`, JSON.stringify(older));
    } finally {
      admin.disconnect();
    }
    await got;
    expect(toldChanged.get(a)).toEqual([['p:{use_1}:news']]);
  });
});
