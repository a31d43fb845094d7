import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisConnection } from '../cache/redis-connection';
import { DomainError, ErrorCode } from '../common/errors';
import { loadConfig } from '../config/config';
import { startSandbox, type Sandbox, type SandboxCustomer } from '../sandbox/sandbox';
import { sandboxConfig } from '../sandbox/sandbox-config';
import { ProfileApiBudget } from '../upstream/profile-api-budget';
import { UpstreamMetrics } from '../upstream/upstream-metrics';
import { SegmentProfileSource } from './segment-profile.source';

/** The adapter over HTTP against the sandbox, which answers only what Segment documents. */
describe(SegmentProfileSource.name, () => {
  let sandbox: Sandbox;
  let profiles: SegmentProfileSource;
  let vip: SandboxCustomer;

  beforeAll(async () => {
    sandbox = await startSandbox({ quiet: true, customers: 12 });
    const config = sandboxConfig(loadConfig({ UPSTREAM_RETRIES: '0' }), sandbox);
    profiles = new SegmentProfileSource(config, new UpstreamMetrics(), new ProfileApiBudget(config, { enabled: false } as RedisConnection));
    vip = sandbox.data.byArchetype('vip');
  });
  afterAll(() => sandbox.close());
  beforeEach(() => sandbox.calls.reset());

  const phone = () => ({ type: 'phone', id: vip.phone as string });

  it('takes a 200 whose body is not JSON for Segment failing, without quoting the body', async () => {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end('{"traits": {"email": jane@example.com');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const config = sandboxConfig(loadConfig({ UPSTREAM_RETRIES: '0' }), sandbox);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const broken = new SegmentProfileSource(
        { ...config, segment: { ...config.segment, profileApiUrl: url } },
        new UpstreamMetrics(),
        new ProfileApiBudget(config, { enabled: false } as RedisConnection),
      );
      const error = (await broken.resolve(phone()).catch((e: unknown) => e)) as DomainError;
      expect(error).toBeInstanceOf(DomainError);
      expect(error.code).toBe(ErrorCode.UPSTREAM_UNAVAILABLE);
      expect(JSON.stringify({ message: error.message, cause: String(error.cause) })).not.toContain('jane@');
    } finally {
      server.close();
    }
  });

  it("fails as BUDGET_EXHAUSTED, not as Segment's timeout, when the retry's budget token cannot come before the call's deadline", async () => {
    let calls = 0;
    const server = createServer((_request, response) => {
      calls += 1;
      response.writeHead(calls === 1 ? 503 : 200, { 'content-type': 'application/json' });
      response.end(calls === 1 ? '{"error":{"code":"unavailable"}}' : '{"data":[],"cursor":{"has_more":false}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      // A budget of one call a second, spent by the first attempt: the retry's token is 1 s away,
      // within SEGMENT_BUDGET_WAIT_MS but past the call's 500 ms deadline.
      const env = { UPSTREAM_RETRIES: '2', UPSTREAM_TIMEOUT_MS: '500', UPSTREAM_DEADLINE_MS: '500', SEGMENT_MAX_RPS: '1', SEGMENT_BUDGET_WAIT_MS: '5000' };
      const config = sandboxConfig(loadConfig(env), sandbox);
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const metrics = new UpstreamMetrics();
      const budgeted = new SegmentProfileSource(
        { ...config, segment: { ...config.segment, profileApiUrl: url } },
        metrics,
        new ProfileApiBudget(config, { enabled: false } as RedisConnection),
      );
      const error = (await budgeted.resolve(phone()).catch((e: unknown) => e)) as DomainError;
      expect(error).toBeInstanceOf(DomainError);
      expect(error.code).toBe(ErrorCode.BUDGET_EXHAUSTED);
      expect(metrics.snapshot()).toEqual([expect.objectContaining({ source: 'segment', lastError: ErrorCode.BUDGET_EXHAUSTED })]);
      expect(calls).toBe(1); // Segment answered once, promptly; the retry never went out
    } finally {
      server.close();
    }
  });

  it('resolves a phone, its + sent as %2B, to the use_ id the cursor names', async () => {
    const resolved = await profiles.resolve(phone());
    expect(resolved?.profileId).toBe(vip.profileId);
    expect(resolved?.externalIds).toContainEqual({ type: 'user_id', id: vip.userId });
    expect(sandbox.calls.log().map((c) => c.path)).toEqual([expect.stringContaining(`/profiles/phone:%2B${(vip.phone as string).slice(1)}/external_ids?`)]);
  });

  it('reads traits, audiences and events by type:value, paging with the cursor', async () => {
    const id = { type: 'email', id: vip.email as string };
    const read = await profiles.traits(id);
    expect(read.traits).toEqual({ ...vip.traits, ...vip.audiences });
    // One verbose read gives each trait's origin: Segment's source id and an ISO update time.
    expect(read.origins.plan).toEqual({ sourceId: expect.stringMatching(/^[A-Za-z0-9]+$/), updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect(Object.keys(read.origins).sort()).toEqual(Object.keys(read.traits).sort());
    expect(sandbox.calls.log().filter((c) => c.route === 'traits')).toEqual([expect.objectContaining({ path: expect.stringContaining('verbose=true') })]);
    expect((await profiles.audiences(id)).sort()).toEqual(
      Object.keys(vip.audiences)
        .filter((k) => vip.audiences[k])
        .sort(),
    );
    expect((await profiles.events(id, 200)).map((e) => e.id)).toEqual(vip.events.slice(0, 200).map((e) => e.message_id));
    for (const call of sandbox.calls.log())
      expect(call).toMatchObject({ status: 200, path: expect.stringContaining(`/profiles/email:${encodeURIComponent(vip.email as string)}/`) });

    // 150 traits and 250 events: more than one page of 100 each.
    const long = sandbox.data.byArchetype('long_history');
    const byUser = { type: 'user_id', id: long.userId as string };
    sandbox.calls.reset();
    expect((await profiles.traits(byUser)).traits).toEqual({ ...long.traits, ...long.audiences });
    expect((await profiles.events(byUser, 200)).map((e) => e.id)).toEqual(long.events.slice(0, 200).map((e) => e.message_id));
    expect(sandbox.calls.count({ route: 'traits' })).toBe(2);
    expect(sandbox.calls.count({ route: 'events' })).toBe(2);
  });

  it("reads a customer's linked accounts with /links and each account's traits by group_id", async () => {
    const long = sandbox.data.byArchetype('long_history');
    const [northwind, contoso] = sandbox.data.accounts;
    expect(await profiles.accounts({ type: 'user_id', id: long.userId as string })).toEqual([{ groupId: contoso.groupId }, { groupId: northwind.groupId }]);
    expect(await profiles.accountTraits(northwind.groupId)).toEqual(northwind.traits);
    expect(sandbox.calls.log().map((c) => [c.route, c.path.split('?')[0]])).toEqual([
      ['links', expect.stringMatching(/\/collections\/users\/profiles\/user_id:[^/]+\/links$/)],
      ['account_traits', expect.stringMatching(new RegExp(`/collections/accounts/profiles/group_id:${northwind.groupId}/traits$`))],
    ]);
    const regular = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.userId && c.accounts.length === 0) as SandboxCustomer;
    expect(await profiles.accounts({ type: 'user_id', id: regular.userId as string })).toEqual([]);
    await expect(profiles.accountTraits('grp_nobody')).rejects.toEqual(expect.objectContaining({ code: ErrorCode.PROFILE_NOT_FOUND }));
  });

  it('answers null when no profile has the identifier, and PROFILE_NOT_FOUND when a read finds none', async () => {
    const nobody = { type: 'user_id', id: 'nobody' };
    expect(await profiles.resolve(nobody)).toBeNull();
    for (const read of [() => profiles.traits(nobody), () => profiles.audiences(nobody), () => profiles.events(nobody, 10), () => profiles.accounts(nobody)]) {
      await expect(read()).rejects.toEqual(expect.objectContaining({ code: ErrorCode.PROFILE_NOT_FOUND }));
      await expect(read()).rejects.toBeInstanceOf(DomainError);
    }
  });
});
