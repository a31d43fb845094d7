import type { SandboxCustomer } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';

/** customerContext end to end: real adapters, real Redis, the sandbox on loopback. */

const FULL = /* GraphQL */ `
  query Context($lookup: CustomerLookupInput!) {
    customerContext(lookup: $lookup) {
      profileId
      resolvedBy { type id }
      externalIds { type id }
      traits
      audiences
      events(first: 5) { totalCount edges { cursor node { id type name occurredAt properties } } pageInfo { hasNextPage endCursor } }
      conversations(first: 5) { totalCount edges { node { sid channel state createdAt updatedAt messages(last: 3) { sid author body createdAt } } } }
      journey(first: 10) { kind at title }
      signals { repeatContact24h contacts24h openConversations lastSeenAt lastPurchaseAt }
      routing { attributes matchedRules }
      freshness { stale sources { source fetchedAt stale error } }
    }
  }`;

const PROFILE_ONLY = /* GraphQL */ `
  query Profile($lookup: CustomerLookupInput!) {
    customerContext(lookup: $lookup) { profileId traits freshness { stale sources { source stale error } } }
  }`;

interface Context {
  profileId: string | null;
  resolvedBy: { type: string; id: string } | null;
  externalIds: Array<{ type: string; id: string }>;
  traits: Record<string, unknown>;
  audiences: string[];
  events: {
    totalCount: number;
    edges: Array<{ cursor: string; node: { id: string; name: string | null; occurredAt: string } }>;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
  conversations: {
    totalCount: number;
    edges: Array<{
      node: { sid: string; state: string; updatedAt: string | null; createdAt: string; messages: Array<{ body: string | null; createdAt: string }> };
    }>;
  };
  journey: Array<{ kind: string; at: string; title: string }>;
  signals: { repeatContact24h: boolean; contacts24h: number; openConversations: number; lastSeenAt: string | null; lastPurchaseAt: string | null };
  freshness: { stale: boolean; sources: Array<{ source: string; stale: boolean; error: string | null }> };
}
type Answer = { customerContext: Context | null };

describe('customerContext (e2e)', () => {
  let h: Harness;
  let vip: SandboxCustomer;

  beforeAll(async () => {
    h = await startHarness({ sandbox: { customers: 60 } });
    vip = h.sandbox.data.byArchetype('vip');
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.sandbox.faults.clear();
    h.sandbox.calls.reset();
  });

  const context = async (lookup: Record<string, unknown>, query = FULL) => {
    const result = await h.gql<Answer>(query, { lookup });
    expect(result.errors).toBeUndefined();
    expect(result.status).toBe(200);
    return result.data?.customerContext ?? null;
  };
  const sourceError = (ctx: Context | null, source: string) => ctx?.freshness.sources.find((s) => s.source === source)?.error ?? null;

  it('joins a VIP customer across Segment and Twilio', async () => {
    const ctx = await context({ phone: vip.phone });
    expect(ctx).not.toBeNull();
    expect(ctx?.profileId).toBe(vip.profileId);
    expect(ctx?.resolvedBy).toEqual({ type: 'phone', id: vip.phone });
    expect(ctx?.traits).toMatchObject({ first_name: vip.traits.first_name, plan: vip.traits.plan });
    expect(Object.keys(ctx?.traits ?? {}).length).toBe(Object.keys(vip.traits).length + Object.keys(vip.audiences).length);
    expect([...(ctx?.audiences ?? [])].sort()).toEqual(
      Object.entries(vip.audiences)
        .filter(([, v]) => v)
        .map(([k]) => k)
        .sort(),
    );
    expect(ctx?.externalIds).toEqual(
      expect.arrayContaining([
        { type: 'user_id', id: vip.userId },
        { type: 'email', id: vip.email },
      ]),
    );
    expect(ctx?.events.totalCount).toBe(vip.events.length);
    expect(ctx?.events.edges.map((e) => e.node.id)).toEqual(vip.events.slice(0, 5).map((e) => e.message_id));
    expect(ctx?.conversations.totalCount).toBe(vip.conversations.length);
    const updated = ctx!.conversations.edges.map((e) => Date.parse(e.node.updatedAt ?? e.node.createdAt));
    expect(updated).toEqual([...updated].sort((a, b) => b - a));
    const newest = ctx!.conversations.edges[0].node;
    const expected = vip.conversations.find((c) => c.sid === newest.sid)!;
    expect(newest.messages.map((m) => m.body)).toEqual(expected.messages.slice(-3).map((m) => m.body));
    expect(ctx?.signals).toMatchObject({ repeatContact24h: true, openConversations: expect.any(Number) });
    expect(ctx?.signals.lastPurchaseAt).not.toBeNull();
    const journeyTimes = ctx!.journey.map((j) => Date.parse(j.at));
    expect(journeyTimes).toEqual([...journeyTimes].sort((a, b) => b - a));
    expect(new Set(ctx!.journey.map((j) => j.kind))).toEqual(new Set(['event', 'conversation']));
    expect(ctx?.freshness.stale).toBe(false);
    expect(ctx?.freshness.sources.map((s) => s.source).sort()).toEqual(
      ['segment.audiences', 'segment.events', 'segment.traits', 'twilio.conversations', 'twilio.messages'].sort(),
    );
  });

  it.each([
    ['userId', (c: SandboxCustomer) => ({ userId: c.userId })],
    ['email (any case)', (c: SandboxCustomer) => ({ email: c.email!.toUpperCase() })],
    ['phone (national format)', (c: SandboxCustomer) => ({ phone: `(${c.phone!.slice(2, 5)}) ${c.phone!.slice(5, 8)}-${c.phone!.slice(8)}` })],
    ['address', (c: SandboxCustomer) => ({ address: `sms:${c.phone}` })],
    ['taskSid', (c: SandboxCustomer) => ({ taskSid: c.tasks[0].sid })],
    ['conversationSid', (c: SandboxCustomer) => ({ conversationSid: c.conversations[0].sid })],
  ])('finds the VIP by %s', async (_kind, lookup) => {
    const ctx = await context(lookup(vip), PROFILE_ONLY);
    expect(ctx?.profileId).toBe(vip.profileId);
  });

  it('finds an anonymous visitor by anonymousId', async () => {
    const anonymous = h.sandbox.data.byArchetype('anonymous_only');
    const ctx = await context({ anonymousId: anonymous.anonymousIds[0] });
    expect(ctx?.profileId).toBe(anonymous.profileId);
    expect(ctx?.resolvedBy?.type).toBe('anonymous_id');
    expect(ctx?.events.totalCount).toBe(anonymous.events.length);
  });

  it('finds a WhatsApp customer by their WhatsApp address and lists their WhatsApp conversations', async () => {
    const whatsapp = h.sandbox.data.byArchetype('whatsapp_only');
    const ctx = await context({ address: `whatsapp:${whatsapp.phone}` });
    expect(ctx?.profileId).toBe(whatsapp.profileId);
    expect(ctx?.conversations.totalCount).toBe(whatsapp.conversations.length);
    expect(ctx?.conversations.totalCount).toBeGreaterThan(0);
  });

  it('answers for a customer known only to Twilio', async () => {
    const twilioOnly = h.sandbox.data.byArchetype('no_profile');
    const ctx = await context({ phone: twilioOnly.phone });
    expect(ctx).not.toBeNull();
    expect(ctx?.profileId).toBeNull();
    expect(ctx?.traits).toEqual({});
    expect(ctx?.conversations.totalCount).toBe(twilioOnly.conversations.length);
    expect(ctx?.freshness.stale).toBe(false);
  });

  it('answers null for a customer known to neither', async () => {
    expect(await context({ phone: h.sandbox.data.unknownPhone() })).toBeNull();
    expect(await context({ email: 'nobody-at-all@example.org' })).toBeNull();
  });

  it('remembers resolutions: a second lookup costs no Profile API call', async () => {
    const customer = h.sandbox.data.customers[10];
    await context(
      { userId: customer.userId ?? undefined, email: customer.email ?? undefined, phone: customer.phone ?? undefined, anonymousId: customer.anonymousIds[0] },
      PROFILE_ONLY,
    );
    const calls = h.sandbox.calls.count({ service: 'segment' });
    expect(calls).toBeGreaterThan(0);
    await context(
      { userId: customer.userId ?? undefined, email: customer.email ?? undefined, phone: customer.phone ?? undefined, anonymousId: customer.anonymousIds[0] },
      PROFILE_ONLY,
    );
    expect(h.sandbox.calls.count({ service: 'segment' })).toBe(calls);
  });

  it('pages traits, events and conversations across several upstream pages', async () => {
    const long = h.sandbox.data.byArchetype('long_history');
    const ctx = await context({ userId: long.userId });
    expect(Object.keys(ctx?.traits ?? {}).length).toBe(Object.keys(long.traits).length + Object.keys(long.audiences).length);
    expect(h.sandbox.calls.count({ service: 'segment', route: 'traits' })).toBeGreaterThanOrEqual(3); // 2+ pages of traits, 1+ of audiences
    expect(h.sandbox.calls.count({ service: 'segment', route: 'events' })).toBe(2); // window of 200 in pages of 100
    expect(ctx?.events.totalCount).toBe(200);
    expect(ctx?.conversations.totalCount).toBe(long.conversations.length);
    expect(h.sandbox.calls.count({ service: 'twilio', route: 'participant_conversations' })).toBeGreaterThan(2);

    // GraphQL paging walks the cached window without more upstream calls.
    const upstreamCalls = () => h.sandbox.calls.count({ service: 'segment' }) + h.sandbox.calls.count({ service: 'twilio' });
    const before = upstreamCalls();
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page: { data: Answer | null } = await h.gql<Answer>(
        `query($lookup: CustomerLookupInput!, $after: String) { customerContext(lookup: $lookup) { events(first: 60, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`,
        { lookup: { userId: long.userId }, after },
      );
      const events = page.data!.customerContext!.events;
      seen.push(...events.edges.map((e) => e.node.id));
      after = events.pageInfo.hasNextPage ? events.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(long.events.slice(0, 200).map((e) => e.message_id));
    expect(upstreamCalls()).toBe(before);
  });

  it('makes no events call when events are not selected', async () => {
    const customer = h.sandbox.data.customers[11];
    await context(
      { userId: customer.userId ?? undefined, phone: customer.phone ?? undefined, anonymousId: customer.anonymousIds[0] },
      `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId traits audiences } }`,
    );
    expect(h.sandbox.calls.count({ service: 'segment', route: 'events' })).toBe(0);
    expect(h.sandbox.calls.count({ service: 'twilio' })).toBe(0);
  });

  it('reads each resource once per request however many fields need it', async () => {
    const customer = h.sandbox.data.customers[12];
    await context({ userId: customer.userId ?? undefined, phone: customer.phone ?? undefined, anonymousId: customer.anonymousIds[0] });
    // The query reads every kind of resource, so each must have been read, and only once.
    for (const route of ['external_ids', 'traits', 'events'] as const) expect(h.sandbox.calls.count({ service: 'segment', route })).toBeGreaterThanOrEqual(1);
    expect(h.sandbox.calls.count({ service: 'segment', route: 'events' })).toBe(1);
    expect(h.sandbox.calls.count({ service: 'twilio' })).toBeGreaterThanOrEqual(1);
    const perPath = new Map<string, number>();
    for (const call of h.sandbox.calls.log().filter((c) => c.service !== 'tracking'))
      perPath.set(`${call.method} ${call.path}`, (perPath.get(`${call.method} ${call.path}`) ?? 0) + 1);
    expect([...perPath].filter(([, n]) => n !== 1)).toEqual([]);
  });

  describe('when Segment misbehaves', () => {
    it('retries a 429 and succeeds', async () => {
      const customer = h.sandbox.data.customers[13];
      h.sandbox.faults.add({ service: 'segment', route: 'external_ids', status: 429, times: 1 });
      const ctx = await context({ userId: customer.userId, phone: customer.phone, anonymousId: customer.anonymousIds[0] }, PROFILE_ONLY);
      expect(ctx?.profileId).toBe(customer.profileId);
      expect(ctx?.freshness.stale).toBe(false);
      expect(h.sandbox.calls.count({ service: 'segment', route: 'external_ids' })).toBe(2);
    });

    it('gives a partial answer when traits keep failing with 500', async () => {
      const customer = h.sandbox.data.customers[14];
      h.sandbox.faults.add({ service: 'segment', route: 'traits', status: 500 });
      const ctx = await context({ userId: customer.userId, phone: customer.phone, anonymousId: customer.anonymousIds[0] });
      expect(ctx?.profileId).toBe(customer.profileId);
      expect(ctx?.traits).toEqual({});
      expect(sourceError(ctx, 'segment.traits')).toBe('UPSTREAM_UNAVAILABLE');
      expect(ctx?.freshness.stale).toBe(true);
      expect(sourceError(ctx, 'segment.events')).toBeNull();
    });

    it('gives a partial answer when events time out', async () => {
      const customer = h.sandbox.data.byArchetype('new');
      h.sandbox.faults.add({ service: 'segment', route: 'events', timeout: true });
      const ctx = await context({ userId: customer.userId });
      // Segment holds the call for good: an answer at all is one the upstream timeout gave, by
      // attempts (UPSTREAM_RETRIES at most), not by a clock.
      expect(h.sandbox.calls.count({ service: 'segment', route: 'events' })).toBeLessThanOrEqual(h.config.upstream.retries + 1);
      expect(ctx?.profileId).toBe(customer.profileId);
      expect(ctx?.events.totalCount).toBe(0);
      expect(sourceError(ctx, 'segment.events')).toBe('UPSTREAM_TIMEOUT');
      expect(ctx?.traits).toMatchObject({ first_name: customer.traits.first_name });
    });

    it('still shows Twilio history when Segment cannot resolve anyone', async () => {
      const customer = h.sandbox.data.customers.find((c, i) => i > 15 && c.phone && c.conversations.length > 0 && c.profileId)!;
      h.sandbox.faults.add({ service: 'segment', status: 503 });
      const ctx = await context({ phone: customer.phone });
      expect(ctx).not.toBeNull();
      expect(ctx?.profileId).toBeNull();
      expect(sourceError(ctx, 'segment.profile')).toBe('UPSTREAM_UNAVAILABLE');
      expect(ctx?.conversations.totalCount).toBe(customer.conversations.length);
    });
  });

  describe('when Twilio misbehaves', () => {
    const twilioCustomer = (offset: number) => h.sandbox.data.customers.filter((c) => c.phone && c.conversations.length > 0 && c.profileId)[offset];

    it('retries a 429 and succeeds', async () => {
      const customer = twilioCustomer(3);
      h.sandbox.faults.add({ service: 'twilio', route: 'participant_conversations', status: 429, times: 1 });
      const ctx = await context({ userId: customer.userId, phone: customer.phone });
      expect(ctx?.conversations.totalCount).toBe(customer.conversations.length);
      expect(sourceError(ctx, 'twilio.conversations')).toBeNull();
    });

    it("reports a failed read of a nested field (a conversation's messages) in freshness, even when freshness is asked first", async () => {
      const customer = twilioCustomer(5);
      h.sandbox.faults.add({ service: 'twilio', route: 'messages', status: 500 });
      const query = /* GraphQL */ `
        query Context($lookup: CustomerLookupInput!) {
          customerContext(lookup: $lookup) {
            freshness { stale sources { source stale error } }
            journey(first: 10) { kind conversation { sid messages(last: 3) { sid } } }
            conversations(first: 5) { edges { node { sid messages(last: 3) { sid } } } }
          }
        }`;
      const result = await h.gql<{ customerContext: Pick<Context, 'freshness'> }>(query, { lookup: { userId: customer.userId, phone: customer.phone } });
      expect(result.errors).toBeUndefined();
      const freshness = result.data!.customerContext.freshness;
      expect(freshness.sources).toContainEqual({ source: 'twilio.messages', stale: true, error: 'UPSTREAM_UNAVAILABLE' });
      expect(freshness.stale).toBe(true);
      expect(freshness.sources.find((s) => s.source === 'twilio.conversations')?.error).toBeNull();
    });

    it('keeps the Segment part when Twilio answers 500', async () => {
      const customer = twilioCustomer(4);
      h.sandbox.faults.add({ service: 'twilio', status: 500 });
      const ctx = await context({ userId: customer.userId, phone: customer.phone });
      expect(ctx?.profileId).toBe(customer.profileId);
      expect(ctx?.conversations.totalCount).toBe(0);
      expect(sourceError(ctx, 'twilio.conversations')).toBe('UPSTREAM_UNAVAILABLE');
      expect(ctx?.freshness.stale).toBe(true);
    });
  });

  describe('bad input', () => {
    it('refuses page sizes over 100 with a GraphQL error code', async () => {
      const result = await h.gql(`{ customerContext(lookup: {userId: "${vip.userId}"}) { events(first: 1000) { totalCount } } }`);
      expect(result.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
      expect(result.errors?.[0].message).toMatch(/first must be between 0 and 100/);
    });

    it('refuses a forged cursor', async () => {
      const result = await h.gql(`{ customerContext(lookup: {userId: "${vip.userId}"}) { events(after: "Zm9yZ2Vk") { totalCount } } }`);
      expect(result.errors?.[0].extensions?.code).toBe('BAD_REQUEST');
    });

    it('answers garbage identifiers with null, and refuses malformed sids and over-long ids with BAD_REQUEST', async () => {
      expect(await context({ phone: 'call me maybe', email: 'not-an-email', address: 'pigeon:42' }, PROFILE_ONLY)).toBeNull();
      for (const lookup of [{ userId: 'x'.repeat(10_000) }, { taskSid: 'WT-not-a-sid' }]) {
        expect((await h.gql(PROFILE_ONLY, { lookup })).errors?.[0].extensions?.code).toBe('BAD_REQUEST');
      }
    });

    it('refuses invalid GraphQL with 400 and a code', async () => {
      const result = await h.gql('{ customerContext(lookup: {}) { nope } }');
      expect(result.status).toBe(400);
      expect(result.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });

    it('refuses malformed JSON and huge bodies with a 4xx and a GraphQL error code', async () => {
      // With a token: a stranger gets 401 before any of this is looked at.
      const post = (body: string, type = 'application/json') =>
        fetch(`${h.url}/graphql`, { method: 'POST', headers: { 'content-type': type, authorization: `Bearer ${h.sandbox.credentials.agentToken}` }, body });
      const codeOf = async (response: Response) => ((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code;
      const malformed = await post('{"query": ');
      expect(malformed.status).toBe(400);
      expect(await codeOf(malformed)).toBe('BAD_REQUEST');
      const wrongType = await post('{"query": 42}');
      expect(wrongType.status).toBe(400);
      const huge = await post(JSON.stringify({ query: `{ __typename }`, pad: 'x'.repeat(2 * 1024 * 1024) }));
      expect(huge.status).toBe(413);
      expect(await codeOf(huge)).toBe('PAYLOAD_TOO_LARGE');
    });

    it('answers unknown routes with the JSON error shape', async () => {
      const unknownRoute = await fetch(`${h.url}/nope`);
      expect(unknownRoute.status).toBe(404);
      expect(((await unknownRoute.json()) as { error: { code: string } }).error.code).toBe('NOT_FOUND');
    });
  });

  it('refreshCustomerContext reads the customer again', async () => {
    const customer = h.sandbox.data.customers[20];
    const lookup = { userId: customer.userId, phone: customer.phone, anonymousId: customer.anonymousIds[0] };
    await context(lookup, PROFILE_ONLY);
    const before = h.sandbox.calls.count({ service: 'segment', route: 'traits' });
    const refreshed = await h.gql<{ refreshCustomerContext: { profileId: string } | null }>(
      `mutation($lookup: CustomerLookupInput!) { refreshCustomerContext(lookup: $lookup) { profileId traits } }`,
      { lookup },
    );
    expect(refreshed.errors).toBeUndefined();
    expect(refreshed.data?.refreshCustomerContext?.profileId).toBe(customer.profileId);
    expect(h.sandbox.calls.count({ service: 'segment', route: 'traits' })).toBe(before + 1);
  });
});
