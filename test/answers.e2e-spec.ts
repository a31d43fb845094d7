import { join } from 'node:path';
import { startSandbox, type Sandbox, type SandboxCustomer } from '../src/sandbox/sandbox';
import { cacheKeys } from '../src/cache/cache-keys';
import { CacheService } from '../src/cache/cache.service';
import { tokenDigest } from '../src/auth/flex-token';
import { RequestPipeline } from '../src/pipeline/request-pipeline';
import { StrictAccess } from '../src/context/strict-access';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';
import { eventually, postForm, PUBLIC_BASE_URL, taskRouter } from './support/twilio-callers';

/**
 * Kept answers: a customer context query asked again is answered from the answer cache, with
 * the per-request parts (authentication, audit, tracking, strict access) still per request, and
 * never with a part that changed, here or on another instance.
 */

const SECRET = 'answers-segment-secret';
const EXAMPLE_POLICY = join(__dirname, '..', 'config', 'access-policy.example.yaml');

const PANEL = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) {
  profileId traits audiences events(first: 20) { edges { node { id name } } }
  conversations(first: 5) { edges { node { sid messages(last: 3) { sid body } } } }
  freshness { stale sources { source stale error } } } }`;

interface Answer {
  customerContext: {
    profileId: string | null;
    traits: Record<string, unknown>;
    events: { edges: Array<{ node: { id: string; name: string | null } }> };
    conversations: { edges: Array<{ node: { sid: string; messages: Array<{ sid: string; body: string | null }> } }> };
    freshness: { stale: boolean; sources: Array<{ source: string; stale: boolean; error: string | null }> };
  } | null;
}

/** The answer cache's counters on one instance, from GET /metrics. */
async function lookups(h: Harness): Promise<Record<string, number>> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  const counts: Record<string, number> = { hit: 0, miss: 0, kept: 0, changed: 0 };
  for (const [, outcome, value] of text.matchAll(/^cc_answer_cache_lookups_total\{outcome="(\w+)"\} (\d+)/gm)) counts[outcome] = Number(value);
  return counts;
}

describe('kept answers (e2e)', () => {
  let sandbox: Sandbox;
  let a: Harness;
  let b: Harness;

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 60, quiet: true });
    const env = { SEGMENT_WEBHOOK_SECRET: SECRET, PUBLIC_BASE_URL, TRACKING_FLUSH_AT: '1', ACCESS_POLICY_FILE: EXAMPLE_POLICY };
    const keyPrefix = `answers${process.pid}:`;
    a = await startHarness({ sandbox, env, keyPrefix });
    b = await startHarness({ sandbox, env, keyPrefix });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await sandbox.close();
  });
  beforeEach(() => sandbox.faults.clear());

  const customer = (n: number) => sandbox.data.customers.filter((c) => c.index > 5 && c.userId && c.phone && c.traits.email && c.conversations.length > 0)[n];
  const lookupOf = (c: SandboxCustomer) => ({ userId: c.userId, phone: c.phone });
  /** Queries asked per customer: each is one Customer Context Viewed. */
  const asked = new Map<SandboxCustomer, number>();
  const ask = async (h: Harness, c: SandboxCustomer, token = sandbox.credentials.supervisorToken) => {
    asked.set(c, (asked.get(c) ?? 0) + 1);
    const answer = await h.gql<Answer>(PANEL, { lookup: lookupOf(c) }, { authorization: `Bearer ${token}` });
    expect(answer.errors).toBeUndefined();
    return answer.data!.customerContext!;
  };
  /** Asks until the instance has kept the answer (the first read fills the cache, so its answer may not be kept). */
  const kept = async (h: Harness, c: SandboxCustomer, token?: string) => {
    for (let i = 0; i < 3; i++) {
      const before = await lookups(h);
      const answer = await ask(h, c, token);
      const after = await lookups(h);
      if (after.hit > before.hit) return answer;
    }
    throw new Error('the answer was never kept');
  };

  it('answers a repeated query from the kept answer: the same bytes, no upstream call, audited and tracked each time', async () => {
    const c = customer(0);
    const first = await kept(a, c);
    const viewsOf = () => sandbox.tracking.events().filter((e) => e.event === 'Customer Context Viewed' && e.userId === c.userId);
    // Every view asked so far has reached the collector (they arrive a moment after their answers).
    const viewsBefore = (await eventually(viewsOf, (found) => found.length === asked.get(c) && asked.get(c)! > 0)).length;
    sandbox.calls.reset();
    const before = await lookups(a);
    const again = await ask(a, c);
    expect(again).toEqual(first);
    expect(await lookups(a)).toMatchObject({ hit: before.hit + 1, miss: before.miss });
    expect(sandbox.calls.log().filter((call) => call.service !== 'tracking')).toEqual([]);
    // Per request still: the data team sees this view too, with its own latency.
    const views = await eventually(viewsOf, (found) => found.length === viewsBefore + 1);
    const view = views.at(-1)!;
    expect(view.properties).toMatchObject({ stale: false, failed_sources: [], viewer_role: 'supervisor' });
  });

  it('keeps its answers when a caller sends more distinct query texts than it remembers shapes of', async () => {
    const c = customer(12);
    await kept(a, c);
    // 300 texts the answer cache does not serve (each its own text): the shapes it remembers are
    // cleared at least once on the way.
    const headers = { authorization: `Bearer ${sandbox.credentials.supervisorToken}` };
    for (let i = 0; i < 300; i++) expect((await a.gql(`{ __typename }${' '.repeat(i)}`, {}, headers)).status).toBe(200);
    const before = await lookups(a);
    await ask(a, c);
    expect(await lookups(a)).toMatchObject({ hit: before.hit + 1, miss: before.miss });
  });

  it('keeps one answer per role set: an agent gets the masked answer, a supervisor the values', async () => {
    const c = customer(1);
    const supervisor = await kept(a, c, sandbox.credentials.supervisorToken);
    const agent = await kept(a, c, sandbox.credentials.agentToken);
    expect(supervisor.traits.email).toBe(c.traits.email);
    expect(agent.traits.email).toMatch(/^.\*\*\*@/);
    expect((await ask(a, c, sandbox.credentials.supervisorToken)).traits.email).toBe(c.traits.email);
    expect((await ask(a, c, sandbox.credentials.agentToken)).traits.email).toMatch(/^.\*\*\*@/);
  });

  it('still refuses a caller without a valid token', async () => {
    const c = customer(2);
    await kept(a, c);
    const refused = await a.gql<Answer>(PANEL, { lookup: lookupOf(c) }, { authorization: 'Bearer not-a-token' });
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('runs every step after the answer on a computed and on a kept answer alike', async () => {
    const c = customer(8);
    const seen: Array<{ kept: boolean; fields: string[]; identity: string }> = [];
    const off = a.app
      .get(RequestPipeline)
      .onAnswered(({ kept, state }) => seen.push({ kept, fields: state.reads.map((r) => r.field), identity: state.principal.identity }));
    try {
      await ask(a, c);
      await kept(a, c);
    } finally {
      off();
    }
    expect(seen[0]).toEqual({ kept: false, fields: ['customerContext'], identity: expect.any(String) });
    expect(seen.at(-1)).toEqual({ kept: true, fields: ['customerContext'], identity: seen[0].identity });
  });

  it('refuses a revoked token even when the answer is kept', async () => {
    const c = customer(9);
    const identity = sandbox.data.agents[0].identity;
    const token = sandbox.issueToken({ identity, roles: ['supervisor'] });
    await kept(a, c, token);
    sandbox.revokeToken(token);
    // Its validation leaves the cache (as it would at the end of its TTL): IAM is asked again.
    await a.app.get(CacheService).delete([cacheKeys.authTokenDigest(tokenDigest(token))]);
    const refused = await a.gql<Answer>(PANEL, { lookup: lookupOf(c) }, { authorization: `Bearer ${token}` });
    expect(refused.status).toBe(401);
    expect(refused.data).toBeNull();
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a revoked token on every instance once its validation is dropped on one', async () => {
    const c = customer(11);
    const token = sandbox.issueToken({ identity: sandbox.data.agents[0].identity, roles: ['supervisor'] });
    await ask(a, c, token);
    // B reads A's validation from Redis and keeps it in process (for as long as the token lives).
    await ask(b, c, token);
    await ask(b, c, token);
    sandbox.revokeToken(token);
    await a.app.get(CacheService).delete([cacheKeys.authTokenDigest(tokenDigest(token))]);
    // The bus drops B's in-process copy: B asks IAM again, which refuses.
    const refused = await eventually(
      () => b.gql<Answer>(PANEL, { lookup: lookupOf(c) }, { authorization: `Bearer ${token}` }),
      (answer) => answer.status !== 200,
    );
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it("keeps another instance's token validation in process: a token validated on A costs B one Redis read, not one per request", async () => {
    const c = customer(10);
    const token = sandbox.issueToken({ identity: sandbox.data.agents[0].identity, roles: ['supervisor'] });
    await ask(a, c, token);
    const authHits = async (tier: 'l1' | 'l2') => {
      const text = await (await fetch(`${b.url}/metrics`)).text();
      const line = new RegExp(`^cc_cache_hits_total\\{resource="auth_token",tier="${tier}",state="fresh"\\} (\\d+)`, 'm').exec(text);
      return Number(line?.[1] ?? 0);
    };
    const [l1, l2] = [await authHits('l1'), await authHits('l2')];
    for (let i = 0; i < 3; i++) await ask(b, c, token);
    // One Redis read; the two requests after it are answered from B's copy in hand (no cache read at all).
    expect(await authHits('l2')).toBe(l2 + 1);
    expect(await authHits('l1')).toBe(l1);
  });

  it('drops a kept answer on every instance when a Segment webhook changes the customer', async () => {
    const c = customer(3);
    await kept(a, c);
    const onB = await kept(b, c);
    expect(onB.traits.plan).not.toBe('answers-enterprise');
    const posted = await postSegment(a, { type: 'identify', userId: c.userId, messageId: 'answers-identify-1', traits: { plan: 'answers-enterprise' } });
    expect(posted.status).toBe(200);
    await eventually(
      () => ask(b, c),
      (answer) => answer.traits.plan === 'answers-enterprise',
    );
    // The instance that took the webhook hears of the change through Redis too, not necessarily first.
    await eventually(
      () => ask(a, c),
      (answer) => answer.traits.plan === 'answers-enterprise',
    );
    const tracked = await postSegment(b, {
      type: 'track',
      userId: c.userId,
      messageId: 'answers-track-1',
      event: 'Answer Test Clicked',
      timestamp: new Date().toISOString(),
    });
    expect(tracked.status).toBe(200);
    await eventually(
      () => ask(a, c),
      (answer) => answer.events.edges[0]?.node.name === 'Answer Test Clicked',
    );
  });

  it('drops a kept answer on every instance when a Conversations webhook adds a message', async () => {
    const c = customer(4);
    const before = await kept(b, c);
    const conversation = before.conversations.edges[0].node;
    const body = 'a message the answer cache must not hide';
    const message = sandbox.data.addMessage(conversation.sid, { author: c.phone!, body });
    const params = {
      EventType: 'onMessageAdded',
      ConversationSid: conversation.sid,
      MessageSid: message.sid,
      Body: body,
      Author: c.phone!,
      DateCreated: new Date().toISOString(),
      AccountSid: sandbox.credentials.accountSid,
    };
    const response = await postForm(a, '/webhooks/conversations', params);
    expect(response.status).toBe(200);
    await eventually(
      () => ask(b, c),
      (answer) => answer.conversations.edges.some((e) => e.node.messages.some((m) => m.body === body)),
    );
  });

  it('does not keep an answer with a failed or stale part', async () => {
    const c = customer(5);
    sandbox.faults.add({ service: 'segment', route: 'events', status: 500 });
    const partial = await ask(a, c);
    expect(partial.freshness.sources.find((s) => s.source === 'segment.events')?.error).toBeTruthy();
    const before = await lookups(a);
    const again = await ask(a, c);
    expect(again.freshness.stale).toBe(true);
    expect((await lookups(a)).hit).toBe(before.hit);
    sandbox.faults.clear();
  });
});

describe('kept answers with ACCESS_STRICT (e2e)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ACCESS_STRICT: 'true' } });
  });
  afterAll(() => h.close());

  it("answers a kept answer only to the agent whose worker holds the customer's task, not to another agent with the same roles", async () => {
    const c = h.sandbox.data.customers.find((x) => x.index > 5 && x.profileId && x.userId && x.phone)!;
    const [holder, other] = [h.sandbox.data.agents[2], h.sandbox.data.agents[3]];
    const task = await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: c.phone, channelType: 'sms' }) });
    h.sandbox.data.reserve(task.sid, holder.workerSid, 'accepted');
    const agentA = { authorization: `Bearer ${h.sandbox.issueToken({ identity: holder.identity, roles: ['agent'] })}` };
    const agentB = { authorization: `Bearer ${h.sandbox.issueToken({ identity: other.identity, roles: ['agent'] })}` };
    const query = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId traits } }`;
    const variables = { lookup: { userId: c.userId } };

    const before = await lookups(h);
    const answers: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await h.gql<{ customerContext: { profileId: string } | null }>(query, variables, agentA);
      expect(answer.errors).toBeUndefined();
      expect(answer.data?.customerContext?.profileId).toBe(c.profileId);
      answers.push(answer.data);
    }
    const afterA = await lookups(h);
    // Kept by the first or second ask, answered from the cache after that.
    expect(afterA.kept).toBeGreaterThan(before.kept);
    expect(afterA.hit).toBeGreaterThan(before.hit);
    expect(answers[2]).toEqual(answers[0]);

    const refused = await h.gql<{ customerContext: unknown }>(query, variables, agentB);
    expect(refused.data?.customerContext ?? null).toBeNull();
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(['FORBIDDEN']);
    const afterB = await lookups(h);
    expect(afterB.hit).toBe(afterA.hit);

    // The refusal did not drop A's kept answer.
    const again = await h.gql<{ customerContext: { profileId: string } | null }>(query, variables, agentA);
    expect(again.errors).toBeUndefined();
    expect(again.data).toEqual(answers[0]);
    expect((await lookups(h)).hit).toBe(afterB.hit + 1);
  });

  it('checks strict access on every request, a kept answer included', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const query = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId traits } }`;
    const supervisor = { authorization: `Bearer ${h.sandbox.credentials.supervisorToken}` };
    for (let i = 0; i < 3; i++) expect((await h.gql(query, { lookup: { userId: vip.userId } }, supervisor)).errors).toBeUndefined();
    const check = jest.spyOn(h.app.get(StrictAccess), 'check').mockRejectedValue(Object.assign(new Error('not yours'), { name: 'Forbidden' }));
    try {
      const refused = await h.gql<{ customerContext: unknown }>(query, { lookup: { userId: vip.userId } }, supervisor);
      expect(refused.data?.customerContext ?? null).toBeNull();
      expect(refused.errors).toHaveLength(1);
      expect(check).toHaveBeenCalled();
    } finally {
      check.mockRestore();
    }
  });
});

describe('kept answers turned off (e2e)', () => {
  it('executes every query with CACHE_ANSWERS_MAX_MB=0', async () => {
    const h = await startHarness({ env: { CACHE_ANSWERS_MAX_MB: '0' } });
    try {
      const c = h.sandbox.data.customers.find((x) => x.userId)!;
      for (let i = 0; i < 3; i++) expect((await h.gql(PANEL, { lookup: { userId: c.userId } })).errors).toBeUndefined();
      expect(await (await fetch(`${h.url}/metrics`)).text()).not.toMatch(/cc_answer_cache_lookups_total\{/);
    } finally {
      await h.close();
    }
  });
});
