import Redis from 'ioredis';
import { freePort, startRedisServer, type RedisServer } from '../../test/support/redis-server';
import { loadConfig } from '../config/config';
import { RedisConnection } from './redis-connection';

/** Connections a library subscribes on (bentocache's bus), on a real redis-server that starts late. */
describe(RedisConnection.name, () => {
  let server: RedisServer | undefined;
  let connection: RedisConnection | undefined;
  afterEach(async () => {
    await connection?.onModuleDestroy();
    await server?.stop();
  });

  it("retries a copy's SUBSCRIBE made while Redis is down until Redis answers, then delivers", async () => {
    const port = await freePort();
    connection = new RedisConnection(loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '200' }));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const copy = connection.create('bus').duplicate();
      const received: string[] = [];
      copy.on('message', (_channel: string, message: string) => received.push(message));
      // As bentocache's bus does: subscribe on a copy, not awaited.
      const subscribed = copy.subscribe('changes');
      await new Promise((resolve) => setTimeout(resolve, 1_000)); // several attempts fail meanwhile
      server = await startRedisServer([], port);
      await subscribed;
      const publisher = new Redis(port, '127.0.0.1');
      try {
        expect(await publisher.publish('changes', 'hello')).toBe(1);
      } finally {
        publisher.disconnect();
      }
      for (let i = 0; i < 100 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(received).toEqual(['hello']);
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stops retrying once the connection is closed', async () => {
    connection = new RedisConnection(loadConfig({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, REDIS_COMMAND_TIMEOUT_MS: '200' }));
    const subscribed = connection.create('bus').duplicate().subscribe('changes');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await connection.onModuleDestroy();
    connection = undefined;
    await expect(subscribed).resolves.toBe(0);
  });

  it('queues commands until first connected, then fails them at once while Redis is down', async () => {
    const port = await freePort();
    // A command timeout longer than the test's: a command that waited for it would fail the test.
    connection = new RedisConnection(loadConfig({ REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_COMMAND_TIMEOUT_MS: '60000' }));
    const client = connection.create('cache');
    const copy = client.duplicate();
    const early = client.set('k', 'v');
    server = await startRedisServer([], port);
    await expect(early).resolves.toBe('OK');
    // A copy made once its original is ready still queues until its own first connection.
    const lateCopy = client.duplicate();
    await expect(lateCopy.get('k')).resolves.toBe('v');
    await server.kill();
    for (let i = 0; i < 200 && [client, copy, lateCopy].some((c) => c.status === 'ready'); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const c of [client, copy, lateCopy]) await expect(c.get('k')).rejects.toThrow(/enableOfflineQueue/);
    await server.start();
    await new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve())));
    await expect(client.get('k')).resolves.toBeNull(); // a fresh server: nothing saved
  }, 15_000);
});
