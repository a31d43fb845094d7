import type { Cluster, Redis } from 'ioredis';
import { dateClock } from '../../test/support/date-clock';
import { startRedisServer } from '../../test/support/redis-server';
import { RedisConnection } from '../cache/redis-connection';
import { ErrorCode, UpstreamError } from '../common/errors';
import { loadConfig, type AppConfig } from '../config/config';
import { ProfileApiBudget } from './profile-api-budget';

const embedded = { enabled: false } as RedisConnection;
const budgetOf = (env: Record<string, string>) => new ProfileApiBudget(loadConfig(env), embedded);

/** Tokens granted at once (SEGMENT_BUDGET_WAIT_MS 0: a caller that would have to wait is refused). */
const immediate = async (budget: ProfileApiBudget, most = 20) => {
  let granted = 0;
  while (
    granted < most &&
    (await budget.acquire('foreground').then(
      () => true,
      () => false,
    ))
  )
    granted++;
  return granted;
};

/** Connections as the application has them (each budget's own), and the means to wait until they are ready. */
class Connections {
  private readonly made: RedisConnection[] = [];
  private readonly clients: Array<Redis | Cluster> = [];

  constructor(private readonly config: AppConfig) {}

  /** A budget on its own connection, as one instance has it, once that connection is ready. */
  async budget(): Promise<ProfileApiBudget> {
    const clients = this.clients;
    const connection = new (class extends RedisConnection {
      override create(name: string) {
        const client = super.create(name);
        clients.push(client);
        return client;
      }
    })(this.config);
    this.made.push(connection);
    const budget = new ProfileApiBudget(this.config, connection);
    await connection.onModuleInit(); // as the application does before it serves
    return budget;
  }

  /** Resolves once every connection is ready (after Redis came back). */
  async ready(): Promise<void> {
    await Promise.all(this.clients.filter((c) => c.status !== 'ready').map((c) => new Promise((resolve) => c.once('ready', resolve))));
  }

  async close(): Promise<void> {
    await Promise.all(this.made.map((c) => c.onApplicationShutdown()));
  }
}

describe(ProfileApiBudget.name, () => {
  // The in-memory bucket reads `Date.now()`: it stands still unless a test moves it.
  beforeEach(() => dateClock.take({ frozen: true }));
  afterEach(() => dateClock.release());

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

  it('gives no token to a caller that gave up while it waited (its deadline passed)', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '10', SEGMENT_BUDGET_WAIT_MS: '5000' });
    await budget.acquire('foreground'); // the burst of 1: the next caller waits (about 150 ms at 7/s)
    const caller = new AbortController();
    const waiting = budget.acquire('foreground', { signal: caller.signal });
    caller.abort();
    dateClock.advance(1_000); // a token is free again when the wait ends: a caller that kept waiting would take it
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    await budget.acquire('foreground'); // still there
    expect(budget.stats().waits).toBe(1);
  });

  it("refuses at once, taking no token, a wait that fits its own bound but not the call's deadline (`until`)", async () => {
    // 10/s planned as 8: a burst of 1 and 7/s, so the next token is about 150 ms away; 5 s would allow it.
    const budget = budgetOf({ SEGMENT_MAX_RPS: '10', SEGMENT_BUDGET_WAIT_MS: '5000' });
    await budget.acquire('foreground');
    let outcome: unknown = 'waiting';
    budget.acquire('foreground', { until: Date.now() + 100 }).then(
      () => (outcome = 'granted'),
      (error: unknown) => (outcome = error),
    );
    // No timer has fired yet (and Date stands still): only a refusal that did not wait is seen here.
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcome).toMatchObject({ code: ErrorCode.BUDGET_EXHAUSTED });
    expect(budget.stats()).toEqual({ waits: 1, exhausted: 1 });
    dateClock.advance(150); // one token refilled: the refused caller took none of it
    await budget.acquire('foreground', { until: Date.now() + 100 });
  });

  it('pauses every caller after a 429', async () => {
    const budget = budgetOf({ SEGMENT_MAX_RPS: '1000', SEGMENT_BUDGET_WAIT_MS: '0' });
    await budget.pause(1_000);
    await expect(budget.acquire('foreground')).rejects.toMatchObject({ code: ErrorCode.BUDGET_EXHAUSTED });
  });

  it('while Redis is down, keeps in each instance its share of the bucket, as many as used it', async () => {
    const server = await startRedisServer();
    // SEGMENT_MAX_RPS 100: a burst of 4 and 76/s for the deployment; two instances share them.
    const connections = new Connections(loadConfig({ REDIS_URL: server.url, SEGMENT_MAX_RPS: '100', SEGMENT_BUDGET_WAIT_MS: '0' }));
    try {
      const budgets = [await connections.budget(), await connections.budget()];
      // Both have used the shared bucket, and each has heard since that the other did.
      for (const budget of [...budgets, ...budgets]) await budget.acquire('foreground');
      await server.kill();
      // Each now holds a burst of 2 in memory (not 4): together never more than the deployment's.
      for (const budget of budgets) expect(await immediate(budget, 10)).toBe(2);
    } finally {
      await connections.close();
      await server.stop();
    }
  });

  describe('for a few seconds after Redis returns, keeps to its share while the others may still be reconnecting', () => {
    // SEGMENT_MAX_RPS 100: a burst of 4 and 76/s for the deployment, 2 and 38/s for each of two.
    // Redis comes back empty (as after a restart): its bucket is full again, a burst of 4.
    async function afterAnOutage(callsDuringOutage: 'both' | 'only the second'): Promise<number> {
      const server = await startRedisServer();
      const connections = new Connections(loadConfig({ REDIS_URL: server.url, SEGMENT_MAX_RPS: '100', SEGMENT_BUDGET_WAIT_MS: '0' }));
      try {
        const [first, second] = [await connections.budget(), await connections.budget()];
        for (const budget of [first, second, first, second]) await budget.acquire('foreground');
        await server.kill();
        for (const budget of callsDuringOutage === 'both' ? [first, second] : [second]) await budget.acquire('foreground');
        await server.start();
        await connections.ready(); // the first's take goes to Redis, not to its share in memory
        dateClock.advance(1_000); // time for the in-memory share to refill to its burst
        return await immediate(first);
      } finally {
        await connections.close();
        await server.stop();
      }
    }

    it('when it spent its share in memory during the outage', async () => {
      expect(await afterAnOutage('both')).toBe(2); // its share's burst, not the new bucket's 4
    });

    it('when it made no call during the outage (it learns of it from its connection)', async () => {
      expect(await afterAnOutage('only the second')).toBe(2);
    });
  });
});
