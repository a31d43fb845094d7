import Redis from 'ioredis';
import type { RedisConnection } from '../cache/redis-connection';
import type { AppConfig } from '../config/config';
import type { CacheService } from '../cache/cache.service';
import { KeptRecords, type KeptWrite } from './kept-records';

/** Records webhooks keep per customer, on a real Redis (the run's redis-server) and without one. */
describe('KeptRecords', () => {
  const connections: Redis[] = [];
  let n = 0;

  afterAll(async () => {
    await Promise.all(connections.map((c) => c.quit()));
  });

  /** A store as one instance has it; `redis: false` is the embedded mode. */
  const store = (prefix: string, redis = true) => {
    const connection = {
      enabled: redis,
      create: () => {
        const client = new Redis(process.env.TEST_REDIS_URL!);
        connections.push(client);
        return client;
      },
    } as unknown as RedisConnection;
    const cache = { onProfileNews: () => () => undefined } as unknown as CacheService;
    const kept = new KeptRecords({ redis: { keyPrefix: prefix } } as AppConfig, connection, cache);
    kept.onModuleInit();
    return kept;
  };
  const write = (field: string, value: unknown, at: number, rev = 0): KeptWrite => ({ field, value, at, rev });
  const bounds = { max: 3, ttlMs: 60_000 };

  for (const redis of [true, false]) {
    describe(redis ? 'on Redis' : 'in process', () => {
      let prefix: string;
      beforeEach(() => {
        prefix = `kept${process.pid}n${++n}:`;
      });

      it('keeps two records written at once for one customer (on Redis, from two instances)', async () => {
        const a = store(prefix, redis);
        const b = redis ? store(prefix) : a;
        await Promise.all([a.keep('notes', 'use_1', write('KQ1', { n: 1 }, 1), bounds), b.keep('notes', 'use_1', write('KQ2', { n: 2 }, 2), bounds)]);
        // In process the store is the instance's own; on Redis any instance reads the same.
        const reader = redis ? store(prefix) : a;
        expect((await reader.read<{ n: number }>('notes', 'use_1')).map((r) => r.n).sort()).toEqual([1, 2]);
      });

      it('replaces a record by a write of the same or a higher revision, never a lower one, and says whether it changed', async () => {
        const kept = store(prefix, redis);
        expect(await kept.keep('notes', 'use_1', write('KQ1', { v: 'created' }, 1, 1), bounds)).toBe(true);
        expect(await kept.keep('notes', 'use_1', write('KQ1', { v: 'created' }, 1, 1), bounds)).toBe(false);
        expect(await kept.keep('notes', 'use_1', write('KQ1', { v: 'updated' }, 1, 2), bounds)).toBe(true);
        // A late note_created (a retry) after the note_updated changes nothing.
        expect(await kept.keep('notes', 'use_1', write('KQ1', { v: 'created' }, 1, 1), bounds)).toBe(false);
        expect(await kept.read('notes', 'use_1')).toEqual([{ v: 'updated' }]);
      });

      it('keeps the newest records up to the bound, per customer and kind', async () => {
        const kept = store(prefix, redis);
        for (let i = 1; i <= 5; i++) await kept.keep('insights', 'use_1', write(`GT${i}`, i, i * 1000), bounds);
        await kept.keep('insights', 'use_2', write('GT9', 9, 1), bounds);
        expect((await kept.read<number>('insights', 'use_1')).sort()).toEqual([3, 4, 5]);
        expect(await kept.read('notes', 'use_1')).toEqual([]);
        // An older record than every kept one is not kept past the bound.
        expect(await kept.keep('insights', 'use_1', write('GT0', 0, 1), bounds)).toBe(false);
        expect(await kept.forget('use_1')).toBe(3);
        expect(await kept.read('insights', 'use_1')).toEqual([]);
        expect(await kept.read('insights', 'use_2')).toEqual([9]);
      });
    });
  }

  it('refuses a write or an erasure Redis did not take as UNAVAILABLE (503, retried), not an internal error', async () => {
    // A client that cannot send: ioredis rejects its commands with a plain Error.
    const down = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const connection = { enabled: true, create: () => down } as unknown as RedisConnection;
    const kept = new KeptRecords({ redis: { keyPrefix: 'down:' } } as AppConfig, connection, {
      onProfileNews: () => () => undefined,
    } as unknown as CacheService);
    kept.onModuleInit();
    await expect(kept.keep('notes', 'use_1', write('KQ1', 1, 1), bounds)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(kept.forget('use_1')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    down.disconnect();
  });

  it('answers a read from its memo until the profile changes', async () => {
    const prefix = `kept${process.pid}memo:`;
    const kept = store(prefix);
    const other = store(prefix);
    await kept.keep('notes', 'use_1', write('KQ1', 1, 1), bounds);
    expect(await kept.read('notes', 'use_1')).toEqual([1]);
    // Another instance writes; this one hears of it through the change bus, here called by hand.
    await other.keep('notes', 'use_1', write('KQ2', 2, 2), bounds);
    expect(await kept.read('notes', 'use_1')).toEqual([1]);
    (kept as unknown as { changed(profileKey: string): void }).changed('use_1');
    expect((await kept.read<number>('notes', 'use_1')).sort()).toEqual([1, 2]);
  });
});
