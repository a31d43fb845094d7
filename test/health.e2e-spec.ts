import { startRedisServer, type RedisServer } from './support/redis-server';
import { startHarness, type Harness } from './support/harness';
import { eventually, postForm, PUBLIC_BASE_URL, taskCreatedEvent, taskRouter } from './support/twilio-callers';

describe('health (e2e)', () => {
  it('reports the embedded cache without Redis', async () => {
    const h = await startHarness({ redis: false });
    try {
      expect(await (await fetch(`${h.url}/healthz`)).json()).toEqual({ status: 'ok' });
      const ready = await (await fetch(`${h.url}/readyz`)).json();
      expect(ready).toMatchObject({ status: 'ok', mode: 'sandbox', cache: 'memory', redis: { status: 'embedded' } });
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

  it('answers 503 from the first moment of shutdown, while enrichment jobs still drain', async () => {
    // A long grace and upstream timeout: the job held in the sandbox keeps the shutdown open.
    const h = await startHarness({ env: { PUBLIC_BASE_URL, ENRICHMENT_SHUTDOWN_GRACE_MS: '60000', UPSTREAM_TIMEOUT_MS: '60000', UPSTREAM_RETRIES: '0' } });
    let closing: Promise<void> | undefined;
    try {
      const vip = h.sandbox.data.byArchetype('vip');
      const task = await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: vip.phone }) });
      h.sandbox.faults.add({ service: 'twilio', route: 'task', timeout: true });
      expect((await postForm(h, '/webhooks/taskrouter', taskCreatedEvent(h, task.sid, JSON.stringify({ from: vip.phone })))).status).toBe(204);
      await eventually(
        () => h.sandbox.calls.count({ service: 'twilio', route: 'task' }),
        (n) => n >= 1,
      );
      expect((await fetch(`${h.url}/readyz`)).status).toBe(200);

      closing = h.app.close();
      const ready = await eventually(
        () => fetch(`${h.url}/readyz`),
        (r) => r.status !== 200,
      );
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'stopping', mode: 'sandbox' });
      // Still draining: the held job has not let the shutdown finish, and liveness still answers.
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    } finally {
      await h.sandbox.close(); // lets the held call go, so the shutdown finishes
      await (closing ?? h.app.close());
    }
  });
});
