import Redis from 'ioredis';
import { startRedisServer } from '../../test/support/redis-server';
import { RedisConnection } from '../cache/redis-connection';
import { ErrorCode, UpstreamError } from '../common/errors';
import { loadConfig } from '../config/config';
import { ProfileApiBudget } from './profile-api-budget';

const embedded = { enabled: false } as RedisConnection;
const budgetOf = (env: Record<string, string>) => new ProfileApiBudget(loadConfig(env), embedded);

describe(ProfileApiBudget.name, () => {
  it('plans for 80 % of SEGMENT_MAX_RPS, as a small burst plus a steady rate', () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '100' });
    expect(budget.burst + budget.rate).toBe(80);
    expect(budget.burst).toBe(4);
  });

  it('lets the burst through at once, then makes foreground callers wait, then gives up', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '10', SEGMENT_BUDGET_WAIT_MS: '0' });
    await budget.acquire('foreground'); // burst of 1
    const error = await budget.acquire('foreground').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamError);
    expect((error as UpstreamError).code).toBe(ErrorCode.BUDGET_EXHAUSTED);
    expect(budget.stats().exhausted).toBe(1);
  });

  it('keeps a reserve that background refreshes may not take', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '100', SEGMENT_BUDGET_WAIT_MS: '0', SEGMENT_BUDGET_BACKGROUND_WAIT_MS: '0' });
    await budget.acquire('background');
    await budget.acquire('background');
    await expect(budget.acquire('background')).rejects.toMatchObject({ code: ErrorCode.BUDGET_EXHAUSTED });
    await budget.acquire('foreground');
  });

  it('pauses every caller after a 429', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '1000', SEGMENT_BUDGET_WAIT_MS: '0' });
    await budget.pause(1_000);
    await expect(budget.acquire('foreground')).rejects.toMatchObject({ code: ErrorCode.BUDGET_EXHAUSTED });
  });

  it('while Redis is down, keeps in each instance its share of the bucket, as many as used it', async () => {
    const server = await startRedisServer();
    const connections: RedisConnection[] = [];
    try {
      // SEGMENT_MAX_RPS 100: a burst of 4 and 76/s for the deployment; two instances share them.
      const config = loadConfig({ REDIS_URL: server.url, SEGMENT_MAX_RPS: '100', SEGMENT_BUDGET_WAIT_MS: '0' });
      const budgets = [0, 1].map(() => {
        const connection = new RedisConnection(config);
        connections.push(connection);
        return { budget: new ProfileApiBudget(config, connection), connection };
      });
      // Both have used the shared bucket, and each has heard since that the other did.
      for (const { budget } of [...budgets, ...budgets]) await budget.acquire('foreground');
      await server.kill();
      const immediate = async (budget: ProfileApiBudget) => {
        let granted = 0;
        while (granted < 10 && (await budget.acquire('foreground').then(() => true, () => false))) granted++;
        return granted;
      };
      // Each now holds a burst of 2 in memory (not 4): together never more than the deployment's.
      for (const { budget } of budgets) expect(await immediate(budget)).toBe(2);
    } finally {
      await Promise.all(connections.map((c) => c.onModuleDestroy()));
      await server.stop();
    }
  });

  it('for a few seconds after Redis returns, still keeps to its share while the others reconnect', async () => {
    const server = await startRedisServer();
    const connections: RedisConnection[] = [];
    const probe = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    try {
      // SEGMENT_MAX_RPS 100: a burst of 4 and 76/s for the deployment, 2 and 38/s for each of two.
      const config = loadConfig({ REDIS_URL: server.url, SEGMENT_MAX_RPS: '100', SEGMENT_BUDGET_WAIT_MS: '2000' });
      const [first, second] = [0, 1].map(() => {
        const connection = new RedisConnection(config);
        connections.push(connection);
        return new ProfileApiBudget(config, connection);
      });
      for (const budget of [first, second, first, second]) await budget.acquire('foreground');
      await server.kill();
      for (const budget of [first, second]) await budget.acquire('foreground');
      // Redis is back (empty, as after a restart) and the first instance has reconnected; the
      // second, which might still be reconnecting, would be spending its share in memory.
      await server.start();
      const bucketIn = async () => (await probe.keys('*budget*').catch(() => [])).length > 0;
      for (const deadline = Date.now() + 10_000; !(await bucketIn()); ) {
        if (Date.now() > deadline) throw new Error('the first instance never used Redis again');
        await first.acquire('foreground');
      }
      let granted = 0;
      for (const end = Date.now() + 1_000; Date.now() < end; granted++) await first.acquire('foreground');
      // Its share: a burst of 2 and 38/s (the whole bucket would grant about 80).
      expect(granted).toBeGreaterThan(5);
      expect(granted).toBeLessThanOrEqual(2 + 38 + 2);
    } finally {
      probe.disconnect();
      await Promise.all(connections.map((c) => c.onModuleDestroy()));
      await server.stop();
    }
  });
});
