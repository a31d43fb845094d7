import { createConnection, createServer, type Server, type Socket } from 'node:net';
import Redis from 'ioredis';
import { Registry } from 'prom-client';
import { dateClock } from '../../test/support/date-clock';
import { DomainError, ErrorCode } from '../common/errors';
import { loadConfig, type AppConfig } from '../config/config';
import { CacheMetrics } from '../metrics/cache-metrics';
import { CacheService } from './cache.service';
import { RedisConnection } from './redis-connection';

/**
 * A loopback proxy to Redis that holds what the client sends for `delayMs`: an instance whose
 * lock commands reach Redis late, as they do when its event loop runs behind under load.
 */
async function laggingProxy(target: URL, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => setTimeout(() => upstream.write(chunk), delayMs));
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A RedisConnection whose lock connection goes through another URL. */
class LocksThrough extends RedisConnection {
  private locks?: Redis;

  constructor(
    config: AppConfig,
    private readonly locksUrl: string,
  ) {
    super(config);
  }

  override create(name: string) {
    if (name !== 'cache-locks') return super.create(name);
    this.locks = new Redis(this.locksUrl, { ...this.options, commandTimeout: 5_000 });
    return this.locks;
  }

  /** Its lock connection's first answer comes through the proxy, late: wait for it as for the others. */
  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    const locks = this.locks;
    if (locks && locks.status !== 'ready') await new Promise((resolve) => locks.once('ready', resolve));
  }

  override async onApplicationShutdown(): Promise<void> {
    this.locks?.disconnect();
    await super.onApplicationShutdown();
  }
}

/** Two CacheService instances on one real Redis: the cross-instance single flight. */
describe(CacheService.name, () => {
  const policy = { ttlMs: 60_000, graceMs: 60_000 };
  let n = 0;
  const open: Array<{ close(): Promise<void> }> = [];

  /** An instance as the application starts one: its connections answered before it serves. */
  const instance = async (prefix: string, connection: (config: AppConfig) => RedisConnection = (c) => new RedisConnection(c)) => {
    const config = loadConfig({ REDIS_URL: process.env.TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, REDIS_COMMAND_TIMEOUT_MS: '5000' });
    const redis = connection(config);
    const cache = new CacheService(config, redis, new CacheMetrics(new Registry()));
    open.push({ close: () => cache.onApplicationShutdown().then(() => redis.onApplicationShutdown()) });
    await redis.onModuleInit();
    cache.onModuleInit();
    await redis.onApplicationBootstrap();
    return cache;
  };

  afterEach(async () => {
    dateClock.release();
    await Promise.all(open.splice(0).map((o) => o.close()));
  });

  it('does not fetch again when another instance stored the value after this one missed it', async () => {
    const prefix = `cs${process.pid}n${++n}:`;
    const proxy = await laggingProxy(new URL(process.env.TEST_REDIS_URL!), 400);
    open.push(proxy);
    const first = await instance(prefix);
    const late = await instance(prefix, (config) => new LocksThrough(config, proxy.url));
    let calls = 0;
    let fetching: () => void = () => undefined;
    const fetchStarted = new Promise<void>((resolve) => (fetching = resolve));
    const fetch = async () => {
      calls++;
      fetching();
      await new Promise((r) => setTimeout(r, 100));
      return { fetched: calls };
    };
    const leading = first.getOrSet('k', policy, fetch);
    // The late instance misses in L2 while the first is fetching; its lock request reaches Redis
    // after the first has fetched, stored and released.
    await fetchStarted;
    const [a, b] = await Promise.all([leading, late.getOrSet('k', policy, fetch)]);
    expect(calls).toBe(1);
    expect(a.value).toEqual({ fetched: 1 });
    expect(b.value).toEqual({ fetched: 1 });
    expect(b.fetchedAt).toBe(a.fetchedAt);
  });

  it('fetches again after the value was dropped, even right after another instance fetched it', async () => {
    const prefix = `cs${process.pid}n${++n}:`;
    const [one, two] = [await instance(prefix), await instance(prefix)];
    let calls = 0;
    const fetch = async () => ({ fetched: ++calls });
    expect((await one.getOrSet('k', policy, fetch)).value).toEqual({ fetched: 1 });
    await one.delete(['k']);
    expect((await two.getOrSet('k', policy, fetch)).value).toEqual({ fetched: 2 });
    expect(calls).toBe(2);
  });

  it('refreshes a value past its TTL once, and the other instance then reads the refreshed one', async () => {
    const prefix = `cs${process.pid}n${++n}:`;
    const [one, two] = [await instance(prefix), await instance(prefix)];
    let calls = 0;
    const fetch = async () => ({ fetched: ++calls });
    // bentocache reads its TTLs off Date: here Date stands still unless the test moves it past one.
    dateClock.take({ frozen: true });
    const short = { ttlMs: 1_000, graceMs: 60_000 };
    await one.getOrSet('k', short, fetch);
    // The barrier: the bus tells instance one that instance two wrote the refreshed value.
    const heard = new Promise<void>((resolve) => {
      const off = one.onKeysChanged((keys) => {
        if (keys.some((key) => key.endsWith('k'))) {
          off();
          resolve();
        }
      });
    });
    dateClock.advance(1_001);
    // Past its TTL: answered stale at once, refreshed in the background.
    const stale = await two.getOrSet('k', short, fetch);
    expect(stale).toMatchObject({ value: { fetched: 1 }, stale: true });
    await heard;
    const fresh = await one.getOrSet('k', short, fetch);
    expect(fresh).toMatchObject({ value: { fetched: 2 }, stale: false });
    expect(calls).toBe(2);
  });

  it('forceFresh fetches a fresh value again on every instance, and keeps the last good one, stale with the error, when that fails', async () => {
    const prefix = `cs${process.pid}n${++n}:`;
    const [one, two] = [await instance(prefix), await instance(prefix)];
    let calls = 0;
    const fetch = async () => ({ fetched: ++calls });
    await one.getOrSet('k', policy, fetch);
    expect(await two.getOrSet('k', policy, fetch, { forceFresh: true })).toMatchObject({ value: { fetched: 2 }, stale: false, error: null });
    const failing = async (): Promise<{ fetched: number }> => {
      throw new DomainError(ErrorCode.UPSTREAM_UNAVAILABLE, 'down');
    };
    expect(await one.getOrSet('k', policy, failing, { forceFresh: true })).toMatchObject({ value: { fetched: 2 }, stale: true, error: 'UPSTREAM_UNAVAILABLE' });
    // The kept value is still cached: a plain read answers it without calling anything.
    expect(await two.getOrSet('k', policy, failing)).toMatchObject({ value: { fetched: 2 }, stale: false });
    // Nothing to keep: the failure is the caller's.
    await expect(one.getOrSet('other', policy, failing, { forceFresh: true })).rejects.toBeDefined();
    expect(calls).toBe(2);
  });

  it('rejects with the DomainError the factory threw, not the cache library wrapping it, when nothing is stored', async () => {
    const cache = await instance(`cs${process.pid}n${++n}:`);
    const thrown = new DomainError(ErrorCode.UPSTREAM_TIMEOUT, 'slow');
    const failing = async (): Promise<never> => {
      throw thrown;
    };
    await expect(cache.getOrSet('k', policy, failing)).rejects.toBe(thrown);
    await expect(cache.getOrSet('k', policy, failing, { forceFresh: true })).rejects.toBe(thrown);
  });
});
