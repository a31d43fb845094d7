import { startRedisServer, type RedisServer } from './support/redis-server';
import { startHarness, type Harness } from './support/harness';

describe('health (e2e)', () => {
  it('reports the embedded cache without Redis', async () => {
    const h = await startHarness({ redis: false });
    try {
      expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await (await fetch(`${h.url}/readyz`)).json();
      expect(ready).toMatchObject({ status: 'ok', cache: 'memory', redis: { status: 'embedded' } });
    } finally {
      await h.close();
    }
  });

  describe('with a Redis that goes away', () => {
    let redis: RedisServer;
    let h: Harness;
    beforeAll(async () => {
      redis = await startRedisServer();
      h = await startHarness({ redis: redis.url });
    });
    afterAll(async () => {
      await h.close();
      await redis.stop();
    });

    it('says so in /readyz and keeps answering queries', async () => {
      expect(await (await fetch(`${h.url}/readyz`)).json()).toMatchObject({ status: 'ok', cache: 'redis', redis: { status: 'ok' } });
      await redis.stop();
      const ready = await fetch(`${h.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'degraded', redis: { status: 'down' } });
      const other = h.sandbox.data.byArchetype('new');
      const result = await h.gql<{ customerContext: { profileId: string } }>(`{ customerContext(lookup: {userId: "${other.userId}"}) { profileId traits } }`);
      expect(result.errors).toBeUndefined();
      expect(result.data?.customerContext.profileId).toBe(other.profileId);
    });
  });
});
