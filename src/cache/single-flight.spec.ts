import Redis from 'ioredis';
import { startRedisServer } from '../../test/support/redis-server';
import { SingleFlight } from './single-flight';

/** Cross-process single flight on a real Redis (the run's redis-server). */
describe('SingleFlight', () => {
  let client: Redis;
  let prefix: string;
  let n = 0;

  beforeAll(() => {
    client = new Redis(process.env.TEST_REDIS_URL!);
  });
  afterAll(() => client.quit());
  beforeEach(() => {
    prefix = `sf${process.pid}n${++n}:`;
  });

  const deferred = <T>() => {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
  };
  /**
   * Calls `seen` with the token of each lock try a SingleFlight sends through `connection` that
   * looks for a holder's result (so its caller learned the holder from an earlier try's answer).
   */
  const onWaitingTry = (connection: Redis, seen: (token: string) => void) => {
    type Acquire = (lockKey: string, resultKey: string, token: string, ttlMs: number) => Promise<[string, string]>;
    const target = connection as unknown as { ccAcquire: Acquire };
    const acquire = target.ccAcquire.bind(connection);
    target.ccAcquire = (lockKey, resultKey, token, ttlMs) => {
      if (!resultKey.endsWith(':none')) seen(token);
      return acquire(lockKey, resultKey, token, ttlMs);
    };
  };

  it('lets one of many concurrent callers, on separate connections, fetch; the others get its value', async () => {
    const clients = Array.from({ length: 4 }, () => client.duplicate());
    try {
      const flights = clients.map((c) => new SingleFlight(c, prefix, 5_000));
      let calls = 0;
      const gate = deferred<void>();
      // The barrier: every caller but the leader waits on the leader (has sent a try that looks
      // for the leader's result).
      const waiting = new Set<string>();
      const allWait = deferred<void>();
      for (const c of clients) onWaitingTry(c, (token) => waiting.add(token).size === 39 && allWait.resolve());
      const runs = Array.from({ length: 40 }, (_, i) =>
        flights[i % flights.length].run('k', async () => {
          calls++;
          await gate.promise;
          return { fetched: calls };
        }),
      );
      await allWait.promise;
      gate.resolve();
      const results = await Promise.all(runs);
      expect(calls).toBe(1);
      expect(results.filter((r) => r.leader)).toHaveLength(1);
      expect(results.map((r) => r.value)).toEqual(Array.from({ length: 40 }, () => ({ fetched: 1 })));
    } finally {
      clients.forEach((c) => c.disconnect());
    }
  });

  it('takes the holder’s published result even when the holder released the lock before the next poll', async () => {
    const own = client.duplicate();
    try {
      const flight = new SingleFlight(own, prefix, 5_000);
      // Another process holds the lock.
      await client.set(`${prefix}lock:{k}`, 'other', 'PX', 5_000);
      // The barrier: the waiter sends a try that looks for the holder's result (it knows the holder).
      const polling = deferred<void>();
      onWaitingTry(own, () => polling.resolve());
      let fetched = false;
      const waiting = flight.run('k', async () => {
        fetched = true;
        return 'mine';
      });
      await polling.promise;
      // It publishes and releases between two polls: the lock is free, the result is there.
      await client.set(`${prefix}lock:{k}:other`, JSON.stringify('theirs'), 'PX', 10_000);
      await client.del(`${prefix}lock:{k}`);
      await expect(waiting).resolves.toEqual({ value: 'theirs', leader: false });
      expect(fetched).toBe(false);
    } finally {
      own.disconnect();
    }
  });

  it('hands the leader’s failure to the leader’s caller only; a waiter then leads itself', async () => {
    const flight = new SingleFlight(client, prefix, 5_000);
    const gate = deferred<void>();
    const leading = deferred<void>();
    const leader = flight.run('k', async () => {
      leading.resolve();
      await gate.promise;
      throw new Error('upstream down');
    });
    await leading.promise; // the leader holds the lock: it fetches
    const follower = flight.run('k', async () => 'second try');
    gate.resolve();
    await expect(leader).rejects.toThrow('upstream down');
    await expect(follower).resolves.toEqual({ value: 'second try', leader: true });
  });

  it('fetches alone when Redis does not answer', async () => {
    const dead = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => null });
    const flight = new SingleFlight(dead, prefix, 1_000);
    await expect(flight.run('k', async () => 'alone')).resolves.toEqual({ value: 'alone', leader: true });
    dead.disconnect();
  });

  it('keeps the lock a timed-out try took, and still fetches once, when Redis answers late', async () => {
    // A Redis of its own that may be paused (DEBUG SLEEP): commands wait in it, then all run.
    const server = await startRedisServer(['--enable-debug-command', 'yes']);
    const control = new Redis(server.url);
    const impatient = new Redis(server.url, { commandTimeout: 200 });
    const patient = new Redis(server.url);
    try {
      // Locks far longer than the test's own timeout: a caller that waited for one to expire fails the test.
      const flights = [new SingleFlight(impatient, prefix, 60_000), new SingleFlight(patient, prefix, 60_000)];
      // Load the scripts, so each try below is one command.
      await Promise.all(flights.map((f, i) => f.run(`warm${i}`, async () => 0)));
      let calls = 0;
      const fetch = async () => ({ fetched: ++calls });
      const paused = control.call('DEBUG', 'SLEEP', '0.5');
      await new Promise((r) => setTimeout(r, 20));
      // In Redis's order: the impatient caller's first try takes the lock, but its answer comes
      // after the caller gave up on it; the patient one waits for that holder; the impatient
      // one's next try must find the lock its own.
      const impatientRun = flights[0].run('k', fetch);
      await new Promise((r) => setTimeout(r, 50));
      const patientRun = flights[1].run('k', fetch);
      await paused;
      const results = await Promise.all([impatientRun, patientRun]);
      expect(calls).toBe(1);
      expect(results.map((r) => r.value)).toEqual([{ fetched: 1 }, { fetched: 1 }]);
      expect(results.map((r) => r.leader)).toEqual([true, false]);
    } finally {
      [control, impatient, patient].forEach((c) => c.disconnect());
      await server.stop();
    }
  });
});
