import { Analytics } from '@segment/analytics-node';
import { startSandbox, type Sandbox } from './sandbox';

describe('Segment tracking API', () => {
  let sandbox: Sandbox;

  const basic = (user: string): string => 'Basic ' + Buffer.from(`${user}:`).toString('base64');
  async function post(
    path: string,
    body: string,
    authorization: string | null = basic(sandbox.credentials.writeKey),
  ): Promise<{ status: number; body: unknown }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    const response = await fetch(`${sandbox.trackingUrl}${path}`, { method: 'POST', headers, body });
    return { status: response.status, body: await response.json() };
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 6, quiet: true });
  });
  afterAll(() => sandbox.close());

  it('records what @segment/analytics-node delivers', async () => {
    const batchesBefore = sandbox.tracking.batches().length;
    const analytics = new Analytics({ writeKey: sandbox.credentials.writeKey, host: sandbox.trackingUrl, flushAt: 2, flushInterval: 50 });
    analytics.track({ userId: 'u1', event: 'Customer Context Viewed', properties: { source: 'panel' } });
    analytics.identify({ userId: 'u1', traits: { plan: 'pro' } });
    await analytics.closeAndFlush({ timeout: 5_000 });

    const batches = sandbox.tracking.batches().slice(batchesBefore);
    expect(batches).toEqual([{ batch: expect.any(Array), writeKey: sandbox.credentials.writeKey, sentAt: expect.any(String) }]);
    expect(sandbox.tracking.events().slice(-2)).toEqual([
      expect.objectContaining({
        type: 'track',
        event: 'Customer Context Viewed',
        userId: 'u1',
        properties: { source: 'panel' },
        messageId: expect.any(String),
      }),
      expect.objectContaining({ type: 'identify', userId: 'u1', traits: { plan: 'pro' } }),
    ]);
    expect(sandbox.calls.count({ service: 'tracking', route: 'batch' })).toBeGreaterThanOrEqual(1);
  });

  it('answers 200 {} and records single track and identify calls as one event each', async () => {
    expect(await post('/v1/track', JSON.stringify({ userId: 'u2', event: 'Single' }))).toEqual({ status: 200, body: {} });
    expect(await post('/v1/identify', JSON.stringify({ userId: 'u2', traits: { a: 1 } }))).toEqual({ status: 200, body: {} });
    expect(sandbox.tracking.events().slice(-2)).toEqual([
      { type: 'track', userId: 'u2', event: 'Single' },
      { type: 'identify', userId: 'u2', traits: { a: 1 } },
    ]);
  });

  it('answers 401 without the write key', async () => {
    const before = sandbox.tracking.batches().length;
    for (const authorization of [null, basic('wrong')]) {
      const { status, body } = await post('/v1/batch', JSON.stringify({ batch: [{ type: 'track', event: 'x' }] }), authorization);
      expect(status).toBe(401);
      expect(body).toMatchObject({ error: { code: 'authentication_error' } });
    }
    expect(sandbox.tracking.batches()).toHaveLength(before);
  });

  it('answers 400 for a body over 500 KB, bad JSON and a batch that is not an array', async () => {
    const big = JSON.stringify({ batch: [{ type: 'track', event: 'big', properties: { blob: 'x'.repeat(510 * 1024) } }] });
    expect((await post('/v1/batch', big)).status).toBe(400);
    expect((await post('/v1/batch', '{"batch": [')).status).toBe(400);
    expect((await post('/v1/batch', '{"batch": {}}')).status).toBe(400);
    // just under the limit is fine
    const fits = JSON.stringify({ batch: [{ type: 'track', event: 'fits', properties: { blob: 'x'.repeat(490 * 1024) } }] });
    expect((await post('/v1/batch', fits)).status).toBe(200);
  });
});
