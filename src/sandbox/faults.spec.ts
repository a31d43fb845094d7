import { CallLog, type CallRecord } from './calls';
import { Faults } from './faults';
import { startSandbox, type Sandbox, type SandboxCustomer } from './sandbox';
import { eventually } from '../../test/support/eventually';

describe(Faults.name, () => {
  it('applies the first matching rule and removes a rule once its times are used up', () => {
    const faults = new Faults();
    faults.add({ service: 'segment', route: 'traits', status: 429, times: 2 });
    faults.add({ service: 'segment', status: 500 });
    expect(faults.take('segment', 'traits')?.status).toBe(429);
    expect(faults.take('segment', 'events')?.status).toBe(500);
    expect(faults.take('segment', 'traits')?.status).toBe(429);
    expect(faults.take('segment', 'traits')?.status).toBe(500);
    expect(faults.take('segment', 'unknown')?.status).toBe(500);
    expect(faults.take('twilio', 'task')).toBeUndefined();
    faults.clear();
    expect(faults.take('segment', 'traits')).toBeUndefined();
  });
});

describe(CallLog.name, () => {
  const call = (at: number, service: CallRecord['service'] = 'segment', route: CallRecord['route'] = 'traits'): CallRecord => ({
    service,
    route,
    method: 'GET',
    path: '/',
    status: 200,
    at,
  });

  it('counts with filters and finds the busiest calendar second', () => {
    const log = new CallLog();
    [1_000, 1_500, 1_999, 2_000, 2_100, 2_200, 2_300, 2_999, 3_000].forEach((at) => log.record(call(at)));
    log.record(call(2_500, 'twilio', 'task'));
    log.record(call(2_600, 'segment', 'events'));
    expect(log.maxPerSecond('segment')).toBe(6);
    expect(log.maxPerSecond('segment', 'traits')).toBe(5);
    expect(log.maxPerSecond('twilio')).toBe(1);
    expect(log.maxPerSecond('tracking')).toBe(0);
    expect(log.count()).toBe(11);
    expect(log.count({ service: 'segment', route: 'traits', method: 'get' })).toBe(9);
    log.reset();
    expect(log.count()).toBe(0);
  });
});

describe('sandbox faults and call log', () => {
  let sandbox: Sandbox;
  let vip: SandboxCustomer;

  const segmentAuth = (): string => 'Basic ' + Buffer.from(`${sandbox.credentials.accessToken}:`).toString('base64');
  const twilioAuth = (): string => 'Basic ' + Buffer.from(`${sandbox.credentials.accountSid}:${sandbox.credentials.authToken}`).toString('base64');
  const traitsUrl = (): string =>
    `${sandbox.segmentUrl}/v1/spaces/${sandbox.credentials.spaceId}/collections/users/profiles/phone:${encodeURIComponent(vip.phone as string)}/traits`;
  const eventsUrl = (): string => traitsUrl().replace(/traits$/, 'events');
  const taskUrl = (): string => `${sandbox.twilioUrl}/v1/Workspaces/${sandbox.credentials.workspaceSid}/Tasks/${vip.tasks[0].sid}`;
  const segment = (url: string, init: RequestInit = {}): Promise<Response> => fetch(url, { ...init, headers: { authorization: segmentAuth() } });
  const twilioGet = (url: string, init: RequestInit = {}): Promise<Response> => fetch(url, { ...init, headers: { authorization: twilioAuth() } });

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 10, quiet: true });
    vip = sandbox.data.byArchetype('vip');
  });
  afterEach(() => {
    sandbox.faults.clear();
    sandbox.calls.reset();
  });
  afterAll(() => sandbox.close());

  it('answers a status with the real error body for the next N calls, with Retry-After on 429', async () => {
    sandbox.faults.add({ service: 'segment', route: 'traits', status: 429, times: 2, retryAfterSeconds: 3 });
    for (let i = 0; i < 2; i++) {
      const response = await segment(traitsUrl());
      expect(response.status).toBe(429);
      expect(response.headers.get('retry-after')).toBe('3');
      expect(response.headers.get('request-id')).toBeTruthy();
      expect(await response.json()).toEqual({ error: { code: 'rate_limit_error', message: expect.any(String) } });
    }
    expect((await segment(eventsUrl())).status).toBe(200); // other route
    expect((await segment(traitsUrl())).status).toBe(200); // used up
    expect(sandbox.calls.log().map((c) => [c.route, c.status])).toEqual([
      ['traits', 429],
      ['traits', 429],
      ['events', 200],
      ['traits', 200],
    ]);
  });

  it("fails every route of a service until cleared, in that service's error shape", async () => {
    sandbox.faults.add({ service: 'twilio', status: 503 });
    sandbox.faults.add({ service: 'tracking', status: 500 });
    sandbox.faults.add({ service: 'segment', status: 502 });
    const task = await twilioGet(taskUrl());
    expect(task.status).toBe(503);
    expect(await task.json()).toEqual({ code: 20500, message: expect.any(String), more_info: 'https://www.twilio.com/docs/errors/20500', status: 503 });
    const tracking = await fetch(`${sandbox.trackingUrl}/v1/batch`, { method: 'POST', body: '{"batch":[]}', headers: { 'content-type': 'application/json' } });
    expect(tracking.status).toBe(500);
    expect(await tracking.json()).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
    const profile = await segment(eventsUrl());
    expect(profile.status).toBe(502);
    expect(await profile.json()).toEqual({ error: { code: 'internal_error', message: expect.any(String) } });
    sandbox.faults.clear();
    expect((await twilioGet(taskUrl())).status).toBe(200);
  });

  it('adds latency, alone or before a status', async () => {
    sandbox.faults.add({ service: 'segment', route: 'events', latencyMs: 200, times: 1 });
    sandbox.faults.add({ service: 'segment', route: 'traits', latencyMs: 100, status: 500, times: 1 });
    // Behind the first events rule (the first match wins): reached only once that one is spent.
    sandbox.faults.add({ service: 'segment', route: 'events', status: 503, times: 1 });
    let started = Date.now();
    expect((await segment(eventsUrl())).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    started = Date.now();
    expect((await segment(traitsUrl())).status).toBe(500);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect((await segment(eventsUrl())).status).toBe(503);
    expect((await segment(eventsUrl())).status).toBe(200);
  });

  it('never answers with timeout: true, so the client gives up; the call is logged with status 0', async () => {
    sandbox.faults.add({ service: 'twilio', route: 'task', timeout: true, times: 1 });
    await expect(twilioGet(taskUrl(), { signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(sandbox.calls.log()).toEqual([expect.objectContaining({ service: 'twilio', route: 'task', status: 0 })]);
    expect(sandbox.calls.count({ status: 0 })).toBe(1);
    expect((await twilioGet(taskUrl())).status).toBe(200);
  });

  it('records every call with its route and counts them', async () => {
    await segment(traitsUrl());
    await segment(eventsUrl());
    await twilioGet(taskUrl());
    await twilioGet(`${sandbox.twilioUrl}/v1/Unknown`);
    await fetch(`${sandbox.twilioUrl}/v1/Workspaces/${sandbox.credentials.workspaceSid}/Tasks/${vip.tasks[0].sid}`, {
      method: 'POST',
      headers: { authorization: twilioAuth() },
    });
    expect(sandbox.calls.count()).toBe(5);
    expect(sandbox.calls.count({ service: 'segment' })).toBe(2);
    expect(sandbox.calls.count({ service: 'twilio', route: 'unknown' })).toBe(1);
    expect(sandbox.calls.count({ method: 'POST' })).toBe(1);
    const [first] = sandbox.calls.log();
    expect(first).toEqual({
      service: 'segment',
      route: 'traits',
      method: 'GET',
      path: expect.stringContaining('/profiles/phone:%2B'),
      status: 200,
      at: expect.any(Number),
    });
    expect(Math.abs(first.at - Date.now())).toBeLessThan(5_000);
  });

  it('reports the busiest second', async () => {
    await Promise.all(Array.from({ length: 40 }, () => segment(traitsUrl())));
    const max = sandbox.calls.maxPerSecond('segment', 'traits');
    // 40 calls land in one calendar second, or straddle two
    expect(max).toBeGreaterThanOrEqual(20);
    expect(max).toBeLessThanOrEqual(40);
    expect(sandbox.calls.maxPerSecond('twilio')).toBe(0);
  });

  describe('control API', () => {
    it('adds and clears faults on any server, for any service', async () => {
      const added = await fetch(`${sandbox.twilioUrl}/__sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ service: 'segment', route: 'traits', status: 500 }),
      });
      expect(added.status).toBe(204);
      expect((await segment(traitsUrl())).status).toBe(500);
      expect((await fetch(`${sandbox.trackingUrl}/__sandbox/faults`, { method: 'DELETE' })).status).toBe(204);
      expect((await segment(traitsUrl())).status).toBe(200);
    });

    it('refuses a malformed rule', async () => {
      for (const rule of [
        { route: 'traits' },
        { service: 'segment', route: 'nope' },
        { service: 'segment', status: 200 },
        { service: 'segment', status: 500, extra: 1 },
        { service: 'segment', times: 1 },
      ]) {
        const response = await fetch(`${sandbox.segmentUrl}/__sandbox/faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(rule),
        });
        expect(response.status).toBe(400);
      }
      expect((await segment(traitsUrl())).status).toBe(200);
    });

    it('serves and resets the call log, without logging itself', async () => {
      await segment(traitsUrl());
      await twilioGet(taskUrl());
      const response = await fetch(`${sandbox.segmentUrl}/__sandbox/calls`);
      const { log } = (await response.json()) as { log: CallRecord[] };
      expect(log.map((c) => `${c.service}:${c.route}:${c.status}`)).toEqual(['segment:traits:200', 'twilio:task:200']);
      expect((await fetch(`${sandbox.twilioUrl}/__sandbox/calls`, { method: 'DELETE' })).status).toBe(204);
      expect(sandbox.calls.count()).toBe(0);
    });
  });
});

describe('sandbox close with a held request', () => {
  it('finishes promptly and drops the held socket', async () => {
    const sandbox = await startSandbox({ customers: 6, quiet: true });
    sandbox.faults.add({ service: 'segment', timeout: true });
    sandbox.faults.add({ service: 'twilio', latencyMs: 60_000 });
    const auth = 'Basic ' + Buffer.from(`${sandbox.credentials.accessToken}:`).toString('base64');
    const held = fetch(`${sandbox.segmentUrl}/v1/spaces/${sandbox.credentials.spaceId}/collections/users/profiles/user_id:x/traits`, {
      headers: { authorization: auth },
    });
    const delayed = fetch(`${sandbox.twilioUrl}/v1/Conversations/CH${'0'.repeat(32)}`);
    const outcome = Promise.allSettled([held, delayed]);
    await eventually(
      () => sandbox.calls.count({ status: 0 }),
      (n) => n === 2,
      5_000,
      'both requests held',
    );
    // Held for a minute otherwise: a close that waited for them would not finish within the test's time.
    await sandbox.close();
    expect((await outcome).map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await sandbox.close(); // idempotent
  });
});
