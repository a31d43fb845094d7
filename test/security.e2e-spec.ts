import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getIntrospectionQuery } from 'graphql';
import helmet, { type HelmetOptions } from 'helmet';
import Redis from 'ioredis';
import { connect, type Socket } from 'node:net';
import { ErrorCode } from '../src/common/errors';
import { startSandbox, type Sandbox } from '../src/sandbox/sandbox';
import { AuditLog } from '../src/pipeline/audit-log';
import { StrictAccess } from '../src/context/strict-access';
import { securityHeadersOptions } from '../src/security/http-hygiene';
import { dateClock } from './support/date-clock';
import { eventually } from './support/eventually';
import { subscribeToChanges } from './support/graphql-ws-client';
import { startHarness, type Harness } from './support/harness';
import { postSegment } from './support/segment-callers';
import { postForm, taskRouter } from './support/twilio-callers';
import { ensureViteBuilt } from './support/vite-build';

/** Flex-token authentication, the access policy, GraphQL limits and HTTP hygiene, end to end. */

const PROFILE = /* GraphQL */ `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId resolvedBy { type id } externalIds { type id } traits routing { attributes } } }`;
const EXAMPLE_POLICY = join(__dirname, '..', 'config', 'access-policy.example.yaml');
const EXAMPLE_RULES = join(__dirname, '..', 'config', 'routing-rules.example.yaml');

interface Profile {
  profileId: string | null;
  resolvedBy: { type: string; id: string } | null;
  externalIds: Array<{ type: string; id: string }>;
  traits: Record<string, unknown>;
  routing: { attributes: { customers?: Record<string, unknown> } };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const codes = (result: { errors?: Array<{ extensions?: { code?: string } }> }) => result.errors?.map((e) => e.extensions?.code);
const SEGMENT_SECRET = 'security-suite-secret';

/** Subscribes over graphql-ws with a token in connection_init, registered (a sentinel received); collects what arrives. */
const subscribe = (h: Harness, token: string, profileId: string, selection = 'traits', registered = true) =>
  subscribeToChanges(h, { token, profileId, selection, registered });

describe('Flex-token authentication (e2e)', () => {
  let h: Harness;
  let vip: Sandbox['data']['customers'][number];
  const validations = () => h.sandbox.calls.count({ service: 'twilio', route: 'token_validate' });

  beforeAll(async () => {
    h = await startHarness();
    vip = h.sandbox.data.byArchetype('vip');
  });
  afterAll(() => h.close());
  beforeEach(() => h.sandbox.calls.reset());

  const lookup = () => ({ lookup: { userId: vip.userId } });

  it('refuses a request without a token with 401 and UNAUTHENTICATED, before reading anything', async () => {
    const result = await h.gql(PROFILE, lookup(), {});
    expect(result.status).toBe(401);
    expect(result.data).toBeNull();
    expect(codes(result)).toContain('UNAUTHENTICATED');
    expect(h.sandbox.calls.count({ service: 'segment' })).toBe(0);
    const raw = await post(h.url, { query: PROFILE, variables: lookup() });
    expect(raw.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const viaGet = await fetch(`${h.url}/graphql?query=${encodeURIComponent(`{ customerContext(lookup: {userId: "${vip.userId}"}) { profileId } }`)}`);
    expect(viaGet.status).toBe(401);
  });

  it('refuses malformed tokens without asking Twilio', async () => {
    for (const token of ['garbage', 'a.b.c', `${'x'.repeat(9000)}.e30.sig`, 'Bearer', '']) {
      const result = await h.gql(PROFILE, lookup(), { authorization: `Bearer ${token}` });
      expect([token, result.status]).toEqual([token, 401]);
    }
    expect((await h.gql(PROFILE, lookup(), { authorization: `Basic ${h.sandbox.credentials.agentToken}` })).status).toBe(401);
    expect(validations()).toBe(0);
  });

  it('refuses an expired token without asking Twilio', async () => {
    const expired = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity, expiresInSeconds: -60 });
    const result = await h.gql(PROFILE, lookup(), bearer(expired));
    expect(result.status).toBe(401);
    expect(result.errors?.[0].message).toMatch(/expired/);
    expect(validations()).toBe(0);
  });

  it('tells a stranger nothing about the schema: 401 before any validation error', async () => {
    for (const headers of [{}, bearer('forged.e30.sig')]) {
      const result = await h.gql('{ customerContxt(lookup: {userId: "u"}) { profileId } }', undefined, headers);
      expect(result.status).toBe(401);
      expect(codes(result)).toEqual(['UNAUTHENTICATED']);
      expect(JSON.stringify(result.errors)).not.toMatch(/customerContext|Did you mean/);
    }
  });

  it('asks Twilio once about a refused token, however often it is sent', async () => {
    const other = await startSandbox({ quiet: true, customers: 6, seed: 8 });
    try {
      const foreign = other.issueToken({ identity: other.data.agents[0].identity });
      const before = validations();
      for (let i = 0; i < 3; i++) expect((await h.gql('{ __typename }', undefined, bearer(foreign))).status).toBe(401);
      expect(validations() - before).toBe(1);
    } finally {
      await other.close();
    }
  });

  it("refuses another Flex account's token", async () => {
    const other = await startSandbox({ quiet: true, customers: 6, seed: 7 });
    try {
      const foreign = other.issueToken({ identity: other.data.agents[0].identity });
      const result = await h.gql(PROFILE, lookup(), bearer(foreign));
      expect(result.status).toBe(401);
      expect(validations()).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('accepts Authorization: Bearer and X-Flex-Token, and asks Twilio once per token', async () => {
    const token = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity });
    const first = await h.gql<{ customerContext: Profile }>(PROFILE, lookup(), bearer(token));
    expect(first.status).toBe(200);
    expect(first.data?.customerContext.profileId).toBe(vip.profileId);
    expect(validations()).toBe(1);
    const second = await h.gql(PROFILE, lookup(), { 'x-flex-token': token });
    expect(second.status).toBe(200);
    expect((await h.gql(PROFILE, lookup(), { authorization: `bearer ${token}` })).status).toBe(200);
    expect(validations()).toBe(1);
  });

  it('shares validated tokens with other instances through Redis', async () => {
    const token = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity });
    const sibling = await startHarness({ sandbox: h.sandbox, keyPrefix: h.config.redis.keyPrefix });
    try {
      expect((await h.gql(PROFILE, lookup(), bearer(token))).status).toBe(200);
      expect((await sibling.gql(PROFILE, lookup(), bearer(token))).status).toBe(200);
      expect(validations()).toBe(1);
    } finally {
      await sibling.close();
    }
  });

  it('leaves health checks public and unknown routes a 404', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${h.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${h.url}/nope`)).status).toBe(404);
  });
});

describe('access policy (e2e)', () => {
  let h: Harness;
  beforeAll(async () => {
    // The example rules stamp customers.email/phone/name, which the policy must mask.
    h = await startHarness({ env: { ACCESS_POLICY_FILE: EXAMPLE_POLICY, ROUTING_RULES_FILE: EXAMPLE_RULES, SEGMENT_WEBHOOK_SECRET: SEGMENT_SECRET } });
  });
  afterAll(() => h.close());

  const profileAs = async (token: string, lookup: Record<string, unknown>) => {
    const result = await h.gql<{ customerContext: Profile }>(PROFILE, { lookup }, bearer(token));
    expect(result.errors).toBeUndefined();
    return result.data!.customerContext;
  };
  const tokenFor = (roles: string[]) => h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity, roles });
  /** Posts a signed Segment message and waits until every subscriber got what it was pushed (a sentinel after it received). */
  const pushedTo = async (subscribers: Array<{ barrier(): Promise<void> }>, message: Record<string, unknown>) => {
    const posted = await postSegment(h, message);
    expect(posted.status).toBe(200);
    await Promise.all(subscribers.map(async (s) => s.barrier()));
  };

  it('masks emails and phones for agents, in traits, external ids and routing attributes', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.traits.email && c.traits.phone && c.userId && c.profileId)!;
    const seen = await profileAs(h.sandbox.credentials.agentToken, { userId: customer.userId });
    expect(seen.traits.email).toMatch(/^.\*\*\*@/);
    expect(seen.traits.email).not.toBe(customer.traits.email);
    expect(seen.traits.phone).toBe(`***${String(customer.traits.phone).slice(-4)}`);
    expect(seen.traits.first_name).toBe(customer.traits.first_name);
    expect(seen.externalIds.find((e) => e.type === 'email')?.id).toMatch(/^.\*\*\*@/);
    expect(seen.externalIds.find((e) => e.type === 'user_id')?.id).toBe(customer.userId);
    expect(seen.routing.attributes.customers?.email).toMatch(/^.\*\*\*@/);
    expect(seen.routing.attributes.customers?.phone).toMatch(/^\*\*\*\d{4}$/);
    expect(seen.routing.attributes.customers?.name).toBe(customer.traits.name);
    const byPhone = await profileAs(h.sandbox.credentials.agentToken, { phone: customer.phone });
    expect(byPhone.resolvedBy).toEqual({ type: 'phone', id: `***${customer.phone!.slice(-4)}` });
  });

  it('shows supervisors and admins the values', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.traits.email && c.userId && c.profileId)!;
    for (const token of [h.sandbox.credentials.supervisorToken, tokenFor(['admin'])]) {
      const seen = await profileAs(token, { userId: customer.userId });
      expect(seen.traits.email).toBe(customer.traits.email);
      expect(seen.externalIds).toEqual(expect.arrayContaining([{ type: 'email', id: customer.email }]));
    }
  });

  it('audits each read: who, whose, which parts, and no values', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.traits.email && c.userId && c.profileId)!;
    const audit = jest.spyOn(h.app.get(AuditLog), 'customerRead');
    try {
      await profileAs(h.sandbox.credentials.agentToken, { userId: customer.userId });
      expect(audit).toHaveBeenCalledTimes(1);
      expect(audit.mock.calls[0][0]).toMatchObject({
        principal: { identity: h.sandbox.data.agents[0].identity, roles: ['agent'] },
        field: 'customerContext',
        parts: ['profileId', 'resolvedBy', 'externalIds', 'traits', 'routing'],
        result: { profileKey: customer.profileId },
      });
    } finally {
      audit.mockRestore();
    }
  });

  it('masks the traits a subscription pushes, for the WebSocket caller', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.index > 10 && c.userId && c.profileId)!;
    await profileAs(h.sandbox.credentials.agentToken, { userId: customer.userId });
    const agent = await subscribe(h, h.sandbox.credentials.agentToken, customer.profileId!);
    const supervisor = await subscribe(h, h.sandbox.credentials.supervisorToken, customer.profileId!);
    try {
      await pushedTo([agent, supervisor], {
        type: 'identify',
        userId: customer.userId,
        messageId: 'security-identify-1',
        traits: { email: 'new.address@example.com', ssn: '123-45-6789' },
      });
      expect(agent.received).toEqual([{ traits: { email: 'n***@example.com' } }]);
      expect(supervisor.received).toEqual([{ traits: { email: 'new.address@example.com' } }]);
    } finally {
      await Promise.all([agent.close(), supervisor.close()]);
    }
  });

  it('masks and hides what event properties carry like the traits of the same name: in events, the journey and pushes', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.index > 12 && c.userId && c.profileId)!;
    await profileAs(h.sandbox.credentials.agentToken, { userId: customer.userId }); // cached: the webhook applies to it
    const selection = 'event { id properties }';
    const agent = await subscribe(h, h.sandbox.credentials.agentToken, customer.profileId!, selection);
    const supervisor = await subscribe(h, h.sandbox.credentials.supervisorToken, customer.profileId!, selection);
    const properties = {
      order_id: 'A-1',
      total: 30,
      email: 'jane.roe@example.com',
      shipping: { phone: '+12015550177', city: 'Springfield' },
      products: [{ sku: 'S-1', gift_email: 'gift@example.com' }, 'loose'],
      ssn: '123-45-6789',
    };
    try {
      await pushedTo([agent, supervisor], {
        type: 'track',
        event: 'Order Completed',
        userId: customer.userId,
        messageId: 'security-track-1',
        timestamp: new Date().toISOString(),
        properties,
      });
      // The example policy's trait rules, at any depth: agents get emails and phones masked, ssn hidden.
      const forAgent = {
        order_id: 'A-1',
        total: 30,
        email: 'j***@example.com',
        shipping: { phone: '***0177', city: 'Springfield' },
        products: [{ sku: 'S-1', gift_email: 'g***@example.com' }, 'loose'],
      };
      const { ssn: _hidden, ...forSupervisor } = properties;
      expect(agent.received).toEqual([{ event: { id: 'security-track-1', properties: forAgent } }]);
      expect(supervisor.received).toEqual([{ event: { id: 'security-track-1', properties: forSupervisor } }]);

      const EVENTS = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) {
        events(first: 1) { edges { node { id properties } } } journey(first: 1) { event { id properties } } } }`;
      type Events = { customerContext: { events: { edges: Array<{ node: unknown }> }; journey: Array<{ event: unknown }> } };
      for (const [token, expected] of [
        [h.sandbox.credentials.agentToken, forAgent],
        [h.sandbox.credentials.supervisorToken, forSupervisor],
      ] as const) {
        const seen = await h.gql<Events>(EVENTS, { lookup: { userId: customer.userId } }, bearer(token));
        expect(seen.errors).toBeUndefined();
        expect(seen.data!.customerContext.events.edges[0].node).toEqual({ id: 'security-track-1', properties: expected });
        expect(seen.data!.customerContext.journey[0].event).toEqual({ id: 'security-track-1', properties: expected });
      }
    } finally {
      await Promise.all([agent.close(), supervisor.close()]);
    }
  });

  it("masks the customer's address where they are the author of a message, never the agents' names; shows named roles the text", async () => {
    const customer = h.sandbox.data.customers.find((c) => c.userId && c.profileId && c.conversations.some((v) => v.messages.length >= 2))!;
    const conversation = customer.conversations.find((v) => v.messages.length >= 2)!;
    const MESSAGES = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) {
      conversations(first: 10) { edges { node { sid messages(last: 50) { sid author body bodyWithheld fromCustomer } } } } } }`;
    type Messages = {
      customerContext: {
        conversations: {
          edges: Array<{
            node: { sid: string; messages: Array<{ sid: string; author: string | null; body: string | null; bodyWithheld: boolean; fromCustomer: boolean }> };
          }>;
        };
      };
    };
    const messagesAs = async (token: string) => {
      const seen = await h.gql<Messages>(MESSAGES, { lookup: { userId: customer.userId } }, bearer(token));
      expect(seen.errors).toBeUndefined();
      return seen.data!.customerContext.conversations.edges.find((e) => e.node.sid === conversation.sid)!.node.messages;
    };
    const expected = (mask: boolean) =>
      conversation.messages.map((m) => {
        const fromCustomer = m.author === conversation.address;
        return { sid: m.sid, fromCustomer, author: fromCustomer && mask ? `***${customer.phone!.slice(-4)}` : m.author, body: m.body, bodyWithheld: false };
      });
    expect(expected(false).filter((m) => m.fromCustomer).length).toBeGreaterThan(0);
    expect(expected(false).filter((m) => !m.fromCustomer).length).toBeGreaterThan(0);
    expect(await messagesAs(h.sandbox.credentials.agentToken)).toEqual(expected(true));
    expect(await messagesAs(h.sandbox.credentials.supervisorToken)).toEqual(expected(false));
    // A role the policy does not name sees who wrote, not what.
    const stranger = await messagesAs(tokenFor(['wfo.data_analyst']));
    expect(stranger.map((m) => m.sid)).toEqual(conversation.messages.map((m) => m.sid));
    expect(stranger.filter((m) => m.body !== null)).toEqual([]);
    // ...and is told the text is withheld, not that there is none.
    expect(stranger.map((m) => m.bodyWithheld)).toEqual(conversation.messages.map((m) => m.body !== null));
    expect(conversation.messages.some((m) => m.body !== null)).toBe(true);
  });

  it('pushes a new message as the next query shows it to each role: author masked, text withheld alike', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.index > 14 && c.userId && c.profileId && c.phone && c.conversations.length > 0)!;
    const conversation = customer.conversations.reduce((a, b) => (a.dateUpdated > b.dateUpdated ? a : b));
    const roles = { agent: h.sandbox.credentials.agentToken, supervisor: h.sandbox.credentials.supervisorToken, stranger: tokenFor(['wfo.data_analyst']) };
    await profileAs(roles.agent, { phone: customer.phone }); // cached: the webhook applies to it
    const selection = 'message { sid author fromCustomer body bodyWithheld }';
    const subscribers = await Promise.all(Object.values(roles).map((token) => subscribe(h, token, customer.profileId!, selection)));
    const body = 'My address is 12 Elm Street';
    const message = h.sandbox.data.addMessage(conversation.sid, { author: conversation.address, body });
    try {
      const posted = await postForm(h, '/webhooks/conversations', {
        EventType: 'onMessageAdded',
        ConversationSid: conversation.sid,
        MessageSid: message.sid,
        Body: body,
        Author: conversation.address,
        DateCreated: message.dateCreated,
        AccountSid: h.sandbox.credentials.accountSid,
      });
      expect(posted.status).toBe(200);
      // Every change published before the sentinels has reached each subscriber (or was refused).
      await Promise.all(subscribers.map(async (s) => s.barrier()));
      const MESSAGES = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) {
        conversations(first: 10) { edges { node { sid messages(last: 5) { sid author fromCustomer body bodyWithheld } } } } } }`;
      type Messages = { customerContext: { conversations: { edges: Array<{ node: { sid: string; messages: Array<{ sid: string }> } }> } } };
      const pushed: Record<string, unknown> = {};
      const queried: Record<string, unknown> = {};
      for (const [index, [role, token]] of Object.entries(roles).entries()) {
        pushed[role] = subscribers[index].received.filter((change) => change.message !== null);
        const seen = await h.gql<Messages>(MESSAGES, { lookup: { phone: customer.phone } }, bearer(token));
        expect(seen.errors).toBeUndefined();
        const thread = seen.data!.customerContext.conversations.edges.find((e) => e.node.sid === conversation.sid)!.node;
        queried[role] = [{ message: thread.messages.find((m) => m.sid === message.sid) }];
      }
      // The push never shows a role more than the query does.
      expect(pushed).toEqual(queried);
      expect(pushed).toEqual({
        agent: [{ message: { sid: message.sid, author: `***${customer.phone!.slice(-4)}`, fromCustomer: true, body, bodyWithheld: false } }],
        supervisor: [{ message: { sid: message.sid, author: conversation.address, fromCustomer: true, body, bodyWithheld: false } }],
        stranger: [{ message: { sid: message.sid, author: null, fromCustomer: true, body: null, bodyWithheld: true } }],
      });
    } finally {
      await Promise.all(subscribers.map(async (s) => s.close()));
    }
  });

  it('shows a role the policy does not name no traits at all', async () => {
    const customer = h.sandbox.data.customers.find((c) => c.traits.email && c.userId && c.profileId)!;
    const seen = await profileAs(tokenFor(['wfo.data_analyst']), { userId: customer.userId });
    expect(seen.traits).toEqual({});
    expect(seen.externalIds).toEqual([]);
  });
});

describe('ACCESS_STRICT (e2e)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ACCESS_STRICT: 'true', ACCESS_STRICT_CACHE_MS: '1000', SEGMENT_WEBHOOK_SECRET: SEGMENT_SECRET } });
  });
  afterAll(() => h.close());
  beforeEach(() => {
    h.sandbox.faults.clear();
    h.sandbox.calls.reset();
  });
  afterEach(() => dateClock.release());

  type Customer = Sandbox['data']['customers'][number];
  /**
   * The service keeps a worker's task list for ACCESS_STRICT_CACHE_MS (1 s here), so each test that reserves
   * takes a worker no earlier test has asked about. agents[0] is the sandbox agent token's,
   * agents[1] the supervisor token's.
   */
  let unusedAgent = 2;
  const freshAgent = () => {
    const agent = h.sandbox.data.agents[unusedAgent++];
    if (!agent) throw new Error('no sandbox agent left whose worker the service has not looked up');
    return { ...agent, token: h.sandbox.issueToken({ identity: agent.identity, roles: ['agent'] }) };
  };
  /** Customers Segment and Twilio both know, by user id and phone; none of the archetypes other tests read. */
  const customers = () => h.sandbox.data.customers.filter((c) => c.index > 5 && c.profileId && c.userId && c.phone);
  /** A new inbound SMS task from the customer, made through TaskRouter's API. */
  const newTask = async (c: Customer) => (await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: c.phone, channelType: 'sms' }) })).sid;
  const readAs = (token: string, lookup: Record<string, unknown>) => h.gql<{ customerContext: Profile | null }>(PROFILE, { lookup }, bearer(token));
  const profileIdAs = async (token: string, lookup: Record<string, unknown>) => {
    const result = await readAs(token, lookup);
    expect({ lookup, errors: result.errors }).toEqual({ lookup, errors: undefined });
    return result.data?.customerContext?.profileId;
  };
  const refusalAs = async (token: string, lookup: Record<string, unknown>) => {
    const result = await readAs(token, lookup);
    expect({ lookup, customerContext: result.data?.customerContext ?? null }).toEqual({ lookup, customerContext: null });
    return codes(result);
  };
  const reservationStatusesAsked = () =>
    h.sandbox.calls
      .log()
      .filter((c) => c.route === 'worker_reservations')
      .map((c) => new URL(c.path, 'http://sandbox').searchParams.get('ReservationStatus'));

  it('lets supervisors read any customer', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const result = await h.gql<{ customerContext: Profile }>(PROFILE, { lookup: { userId: vip.userId } }, bearer(h.sandbox.credentials.supervisorToken));
    expect(result.errors).toBeUndefined();
    expect(result.data?.customerContext.profileId).toBe(vip.profileId);
  });

  it("lets an agent read the customers of the tasks their worker holds (offered, accepted, in wrap-up), by task and by the customer's own identifiers", async () => {
    const agent = freshAgent();
    const [accepted, offered, wrapping, stranger] = customers();
    const held: Array<[Customer, string]> = [];
    for (const [c, status] of [
      [accepted, 'accepted'],
      [offered, 'pending'],
      [wrapping, 'wrapping'],
    ] as const) {
      const taskSid = await newTask(c);
      expect(h.sandbox.data.reserve(taskSid, agent.workerSid, status)).toMatchObject({ taskSid, workerSid: agent.workerSid, status });
      held.push([c, taskSid]);
    }
    // Another worker's task: the stranger is a customer of the contact center, not of this agent.
    const strangerTask = await newTask(stranger);
    h.sandbox.data.reserve(strangerTask, h.sandbox.data.agents[1].workerSid, 'accepted');

    for (const [c, taskSid] of held) {
      expect(await profileIdAs(agent.token, { taskSid })).toBe(c.profileId);
      expect(await profileIdAs(agent.token, { userId: c.userId })).toBe(c.profileId);
      expect(await profileIdAs(agent.token, { phone: c.phone })).toBe(c.profileId);
    }
    // The service asked TaskRouter for this worker's reservations in each active status.
    expect(
      h.sandbox.calls
        .log()
        .filter((c) => c.route === 'worker_reservations')
        .every((c) => c.path.includes(`/Workers/${agent.workerSid}/Reservations?`)),
    ).toBe(true);
    expect(new Set(reservationStatusesAsked())).toEqual(new Set(['pending', 'accepted', 'wrapping']));

    h.sandbox.calls.reset();
    for (const lookup of [{ userId: stranger.userId }, { phone: stranger.phone }, { taskSid: strangerTask }]) {
      expect(await refusalAs(agent.token, lookup)).toEqual(['FORBIDDEN']);
    }
    expect(await refusalAs(agent.token, { userId: h.sandbox.data.byArchetype('vip').userId })).toEqual(['FORBIDDEN']);
    // A task of theirs does not carry a lookup of someone else: the lookup's own identifiers come
    // first when it is resolved, so they, not the task, name the customer.
    const [[mine, myTask]] = held;
    expect(await profileIdAs(agent.token, { taskSid: myTask, phone: mine.phone })).toBe(mine.profileId);
    h.sandbox.calls.reset();
    expect(await refusalAs(agent.token, { taskSid: myTask, userId: stranger.userId })).toEqual(['FORBIDDEN']);
    expect(await refusalAs(agent.token, { taskSid: myTask, phone: stranger.phone })).toEqual(['FORBIDDEN']);
    // Nor does another worker's task ride on a lookup of their own customer.
    expect(await refusalAs(agent.token, { taskSid: strangerTask, userId: mine.userId })).toEqual(['FORBIDDEN']);
    // Refused before anything about the customer was read beyond who they are.
    for (const route of ['traits', 'events'] as const) expect(h.sandbox.calls.count({ service: 'segment', route })).toBe(0);
    // The stranger's own agent (here the supervisor's worker, exempt anyway) is not affected.
    expect(await profileIdAs(h.sandbox.credentials.supervisorToken, { taskSid: strangerTask })).toBe(stranger.profileId);
  });

  it('refuses the agent again once the reservation is completed and their kept task list has expired', async () => {
    const agent = freshAgent();
    const c = customers()[4];
    const taskSid = await newTask(c);
    // The kept task list's TTL is read off Date: here it stands still but for the moves below.
    dateClock.take({ frozen: true });
    const reservation = h.sandbox.data.reserve(taskSid, agent.workerSid, 'accepted');
    expect(await profileIdAs(agent.token, { userId: c.userId })).toBe(c.profileId);
    expect(await profileIdAs(agent.token, { taskSid })).toBe(c.profileId);

    h.sandbox.data.setReservationStatus(reservation.sid, 'completed');
    // Until the kept task list expires (ACCESS_STRICT_CACHE_MS, 1 s here) the agent still gets in.
    dateClock.advance(999);
    expect(await profileIdAs(agent.token, { userId: c.userId })).toBe(c.profileId);
    dateClock.advance(2);
    const refused = await readAs(agent.token, { userId: c.userId });
    expect(codes(refused)).toEqual(['FORBIDDEN']);
    expect(refused.data?.customerContext ?? null).toBeNull();
    expect(await refusalAs(agent.token, { taskSid })).toEqual(['FORBIDDEN']);
    expect(await refusalAs(agent.token, { phone: c.phone })).toEqual(['FORBIDDEN']);
  });

  it('holds subscriptions to the same rule', async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const holder = freshAgent();
    const reservation = h.sandbox.data.reserve(vip.tasks[0].sid, holder.workerSid, 'accepted');
    // The sandbox agent's worker holds no task of the VIP's: the server refuses that subscription.
    const agent = await subscribe(h, h.sandbox.credentials.agentToken, vip.profileId!, 'traits', false);
    const mine = await subscribe(h, holder.token, vip.profileId!);
    const supervisor = await subscribe(h, h.sandbox.credentials.supervisorToken, vip.profileId!);
    const strict = h.app.get(StrictAccess);
    const check = strict.check.bind(strict);
    let holderRefusals = 0;
    const spy = jest.spyOn(strict, 'check').mockImplementation(async (principal, target) => {
      try {
        await check(principal, target);
      } catch (error) {
        if (principal?.identity === holder.identity) holderRefusals += 1;
        throw error;
      }
    });
    try {
      // The refusal comes once the worker's tasks were read from TaskRouter.
      await eventually(
        () => agent.errors.length,
        (n) => n > 0,
        10_000,
        "the agent's refusal",
      );
      expect(JSON.stringify(agent.errors)).toMatch(/"code":"FORBIDDEN"/);
      expect(mine.errors).toEqual([]);
      expect(supervisor.errors).toEqual([]);
      const posted = await postSegment(h, {
        type: 'identify',
        userId: vip.userId,
        messageId: 'strict-identify-1',
        traits: { loyalty_tier: 'strict-platinum' },
      });
      expect(posted.status).toBe(200);
      await Promise.all([mine.barrier(), supervisor.barrier()]);
      expect(mine.received).toEqual([{ traits: { loyalty_tier: 'strict-platinum' } }]);
      expect(supervisor.received).toEqual([{ traits: { loyalty_tier: 'strict-platinum' } }]);
      expect(agent.received).toEqual([]);

      // The task is done: once the kept task list (ACCESS_STRICT_CACHE_MS, 1 s here) expires,
      // the holder's open subscription stops receiving the customer's changes. The holder's own
      // query is refused once the list was read again.
      h.sandbox.data.setReservationStatus(reservation.sid, 'completed');
      await eventually(
        async () => codes(await readAs(holder.token, { userId: vip.userId })),
        (refused) => refused?.[0] === 'FORBIDDEN',
        15_000,
        "the holder's refusal once the reservation completed",
      );
      holderRefusals = 0;
      await postSegment(h, { type: 'identify', userId: vip.userId, messageId: 'strict-identify-2', traits: { loyalty_tier: 'strict-diamond' } });
      await supervisor.barrier();
      expect(supervisor.received).toHaveLength(2);
      // The holder's subscription handles its changes in order: its filter refused the identify and
      // then the sentinel that followed it, so the identify was not pushed to it.
      await eventually(
        () => holderRefusals,
        (n) => n >= 2,
        10_000,
        "the holder's subscription refusing the identify and the sentinel after it",
      );
      expect(mine.received).toHaveLength(1);
    } finally {
      spy.mockRestore();
      await Promise.all([agent.close(), mine.close(), supervisor.close()]);
    }
  });

  it('refuses an agent whose worker TaskRouter does not know as holding no task, not as an outage', async () => {
    const stranger = h.sandbox.issueToken({ identity: 'someone.else', roles: ['agent'], workerSid: `WK${'e'.repeat(32)}` });
    const vip = h.sandbox.data.byArchetype('vip');
    expect(await refusalAs(stranger, { userId: vip.userId })).toEqual(['FORBIDDEN']);
  });

  it('refuses an agent when their tasks cannot be read (TaskRouter fails), never lets them through', async () => {
    const agent = freshAgent();
    const vip = h.sandbox.data.byArchetype('vip');
    const taskSid = await newTask(vip);
    h.sandbox.data.reserve(taskSid, agent.workerSid, 'accepted');
    h.sandbox.faults.add({ service: 'twilio', route: 'worker_reservations', status: 500 });
    const result = await readAs(agent.token, { userId: vip.userId });
    expect(result.data?.customerContext ?? null).toBeNull();
    expect(codes(result)).toEqual(['UPSTREAM_UNAVAILABLE']);
    expect(h.sandbox.calls.count({ service: 'twilio', route: 'worker_reservations' })).toBeGreaterThan(0);
    expect(h.sandbox.calls.count({ service: 'segment', route: 'traits' })).toBe(0);
    expect(codes(await readAs(agent.token, { taskSid }))).toEqual(['UPSTREAM_UNAVAILABLE']);

    // The failure was not kept: once TaskRouter answers, the agent gets their customer.
    h.sandbox.faults.clear();
    expect(await profileIdAs(agent.token, { userId: vip.userId })).toBe(vip.profileId);
  });
});

describe('GraphQL limits (e2e)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());
  beforeEach(() => h.sandbox.calls.reset());

  // The caller's token is checked first (one IAM call per new token): only data reads count here.
  const upstreamCalls = () =>
    h.sandbox.calls.count({ service: 'segment' }) +
    h.sandbox.calls.count({ service: 'twilio' }) -
    h.sandbox.calls.count({ service: 'twilio', route: 'token_validate' });

  it('refuses a query deeper than GRAPHQL_MAX_DEPTH', async () => {
    const shallow = await startHarness({ sandbox: h.sandbox, env: { GRAPHQL_MAX_DEPTH: '5' } });
    try {
      const result = await shallow.gql(`{ customerContext(lookup: {userId: "u"}) { conversations { edges { node { messages { sid } } } } } }`);
      expect(result.status).toBe(400);
      expect(codes(result)).toEqual(['QUERY_TOO_DEEP']);
      expect(upstreamCalls()).toBe(0);
    } finally {
      await shallow.close();
    }
  });

  it('refuses a query over the complexity limit, counting lists by first/last, variables included', async () => {
    const query = `query($n: Int) { customerContext(lookup: {userId: "u"}) { conversations(first: $n) { edges { node { messages(last: 100) { sid body } } } } } }`;
    const big = await h.gql(query, { n: 100 });
    expect(big.status).toBe(400);
    expect(codes(big)).toEqual(['QUERY_TOO_COMPLEX']);
    expect(big.errors?.[0].message).toMatch(/complexity \d+ exceeds the limit of 5000/);
    expect((await h.gql(query, { n: 2 })).status).toBe(200);
    expect(upstreamCalls()).toBeGreaterThan(0);
  });

  it('refuses page sizes over 100 before any upstream call', async () => {
    const result = await h.gql(`{ customerContext(lookup: {userId: "u"}) { events(first: 101) { totalCount } } }`);
    expect(result.status).toBe(400);
    expect(codes(result)).toEqual(['BAD_REQUEST']);
    expect(upstreamCalls()).toBe(0);
  });

  it('refuses a query text over GRAPHQL_MAX_QUERY_BYTES', async () => {
    const result = await h.gql(`{ __typename }\n#${'x'.repeat(20_000)}`);
    expect(result.status).toBe(413);
    expect(codes(result)).toEqual(['QUERY_TOO_LARGE']);
  });

  it('has introspection and GraphiQL off by default', async () => {
    const result = await h.gql('{ __schema { queryType { name } } }');
    expect(result.status).toBe(400);
    expect(result.errors?.[0].message).toMatch(/introspection/i);
    expect(new Set(codes(result))).toEqual(new Set(['GRAPHQL_VALIDATION_FAILED']));
    expect((await fetch(`${h.url}/graphiql`)).status).toBe(404);
  });

  it('gives parse and validation errors a code of the documented enum', async () => {
    for (const query of ['{ customerContext(lookup: {userId: "u"}) { nope } }', '{ customerContext(', 'query A { __typename } query A { __typename }']) {
      const result = await h.gql(query);
      expect(result.status).toBe(400);
      for (const code of codes(result) ?? ['none']) expect(Object.values(ErrorCode)).toContain(code);
      expect(codes(result)?.[0]).toBe('GRAPHQL_VALIDATION_FAILED');
    }
  });

  it('refuses batched queries', async () => {
    const response = await post(h.url, [{ query: '{ __typename }' }, { query: '{ __typename }' }], bearer(h.sandbox.credentials.agentToken));
    expect(response.status).toBe(400);
  });

  it('turns introspection and GraphiQL on when asked to', async () => {
    const open = await startHarness({ sandbox: h.sandbox, env: { GRAPHQL_INTROSPECTION: 'true', GRAPHQL_IDE: 'true' } });
    try {
      const result = await open.gql<{ __schema: { queryType: { name: string } } }>('{ __schema { queryType { name } } }');
      expect(result.data?.__schema.queryType.name).toBe('Query');
      expect((await open.gql(getIntrospectionQuery())).status).toBe(200);
      expect((await fetch(`${open.url}/graphiql`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('persisted queries only (e2e)', () => {
  const query = '{ __typename }';
  const hash = createHash('sha256').update(query).digest('hex');
  let dir: string;
  let h: Harness;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cc-persisted-'));
    const file = join(dir, 'queries.json');
    writeFileSync(file, JSON.stringify({ [hash]: query }));
    h = await startHarness({ env: { GRAPHQL_PERSISTED_ONLY: 'true', GRAPHQL_PERSISTED_QUERIES_FILE: file } });
  });
  afterAll(async () => {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ask = async (body: unknown) => {
    const response = await post(h.url, body, bearer(h.sandbox.credentials.agentToken));
    return { status: response.status, ...((await response.json()) as { data?: unknown; errors?: Array<{ extensions?: { code?: string } }> }) };
  };

  it('answers a known hash and refuses query text and unknown hashes', async () => {
    expect(await ask({ persisted: true, query: hash })).toMatchObject({ status: 200, data: { __typename: 'Query' } });
    const text = await ask({ query });
    expect([text.status, codes(text)]).toEqual([400, ['PERSISTED_QUERY_REQUIRED']]);
    const unknown = await ask({ persisted: true, query: 'f'.repeat(64) });
    expect([unknown.status, codes(unknown)]).toEqual([400, ['PERSISTED_QUERY_NOT_FOUND']]);
  });
});

/** The headers of the answer to `path` from a plain Node server answering with `listener`. */
async function plainServerHeaders(listener: RequestListener, path: string, init: RequestInit): Promise<Record<string, string>> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`, init);
    await response.arrayBuffer();
    return Object.fromEntries(response.headers);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * What helmet itself does to the answer to this request when it runs per request, as Connect
 * middleware on a plain Node server: each header it sets, with its value, and null for each it
 * removes. The server announces itself in X-Powered-By first, as Express does, so that helmet's
 * removing it shows.
 */
async function helmetPerRequest(options: HelmetOptions, path: string, init: RequestInit): Promise<Record<string, string | null>> {
  const middleware = helmet(options);
  const answer =
    (withHelmet: boolean): RequestListener =>
    (req, res) => {
      res.sendDate = false;
      res.setHeader('X-Powered-By', 'Express');
      if (withHelmet) middleware(req, res, () => res.end());
      else res.end();
    };
  const without = await plainServerHeaders(answer(false), path, init);
  const withIt = await plainServerHeaders(answer(true), path, init);
  const touched = [...new Set([...Object.keys(without), ...Object.keys(withIt)])].filter((name) => without[name] !== withIt[name]);
  return Object.fromEntries(touched.map((name) => [name, withIt[name] ?? null]));
}

/**
 * The service's answer to `path` beside helmet's per request with the service's own options, on
 * every header helmet may set or remove (with every middleware on: COEP is the one off by
 * default), so a header helmet's options turn off must be absent from the service's answer too.
 */
async function securityHeaders(h: Harness, path: string, init: RequestInit = {}) {
  const helmetSets = await helmetPerRequest(securityHeadersOptions(h.config), path, init);
  const helmetMaySet = await helmetPerRequest({ crossOriginEmbedderPolicy: true }, path, init);
  const names = [...new Set([...Object.keys(helmetSets), ...Object.keys(helmetMaySet)])].sort();
  const response = await fetch(`${h.url}${path}`, init);
  await response.arrayBuffer();
  return {
    contentType: response.headers.get('content-type'),
    service: Object.fromEntries(names.map((name) => [name, response.headers.get(name)])),
    byHelmet: Object.fromEntries(names.map((name) => [name, helmetSets[name] ?? null])),
  };
}

describe('HTTP hygiene (e2e)', () => {
  let h: Harness;
  beforeAll(async () => {
    // The panel's page is the service's HTML answer (PanelAssets reads it at start).
    ensureViteBuilt('panel', 'dist/index.html', ['src', 'index.html', 'vite.config.mts']);
    h = await startHarness();
  });
  afterAll(() => h.close());

  const preflight = (origin: string) =>
    fetch(`${h.url}/graphql`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });

  it('allows Flex UI as a CORS origin and no other', async () => {
    const flex = await preflight('https://flex.twilio.com');
    expect(flex.headers.get('access-control-allow-origin')).toBe('https://flex.twilio.com');
    expect(flex.headers.get('access-control-allow-headers')).toMatch(/authorization/i);
    const evil = await preflight('https://evil.example');
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await post(h.url, { query: '{ __typename }' }, { origin: 'https://evil.example' });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  /** Sends raw bytes on a socket (optionally after `onConnection` ran on the server's side of it); the answer's status line and body. */
  async function rawHttp(bytes: string, onConnection?: (socket: Socket) => void): Promise<{ status: number; body: unknown }> {
    const server = h.app.getHttpServer();
    if (onConnection) server.once('connection', (socket: Socket) => setImmediate(() => onConnection(socket)));
    const answer = await new Promise<string>((resolve) => {
      const socket = connect(Number(new URL(h.url).port), '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(received));
      socket.write(bytes);
    });
    const [head, body] = answer.split('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: JSON.parse(body) };
  }

  it('answers headers too large with 431 HEADERS_TOO_LARGE', async () => {
    expect(await rawHttp(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toEqual({
      status: 431,
      body: { error: { code: 'HEADERS_TOO_LARGE', message: expect.any(String) } },
    });
  });

  it('answers a request not received in time with 408 REQUEST_TIMEOUT', async () => {
    // Node reports the timeout as a clientError with ERR_HTTP_REQUEST_TIMEOUT, but checks for it
    // only every 30 s (connectionsCheckingInterval): the server reports it here on a half-sent request.
    const timeout = Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    const answer = await rawHttp('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"query"', (socket) =>
      h.app.getHttpServer().emit('clientError', timeout, socket),
    );
    expect(answer).toEqual({ status: 408, body: { error: { code: 'REQUEST_TIMEOUT', message: 'The request was not received in time' } } });
  });

  it('sends security headers on JSON routes', async () => {
    for (const response of [await fetch(`${h.url}/healthz`), await post(h.url, { query: '{ __typename }' })]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toMatch(/frame-ancestors 'self' https:\/\/flex\.twilio\.com/);
      expect(response.headers.get('strict-transport-security')).toBeTruthy();
    }
  });

  it('sends on every answer exactly the security headers helmet sets per request: the panel page, JSON, GraphQL, errors', async () => {
    const answers = {
      panel: await securityHeaders(h, '/panel', { headers: { accept: 'text/html', 'accept-encoding': 'gzip' } }),
      health: await securityHeaders(h, '/healthz'),
      graphql: await securityHeaders(h, '/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://flex.twilio.com', ...bearer(h.sandbox.credentials.agentToken) },
        body: JSON.stringify({ query: '{ __typename }' }),
      }),
      notFound: await securityHeaders(h, '/nope'),
    };
    expect(answers.panel.contentType).toMatch(/^text\/html/);
    for (const { contentType, service, byHelmet } of Object.values(answers)) {
      expect(service).toEqual(byHelmet);
      if (contentType !== answers.panel.contentType) expect(contentType).toMatch(/^application\/json/);
    }
    // What the comparison covers: helmet's headers, and the one it removes.
    expect(answers.health.byHelmet).toMatchObject({
      'content-security-policy': expect.stringContaining("frame-ancestors 'self' https://flex.twilio.com;"),
      'x-content-type-options': 'nosniff',
      'x-frame-options': null,
      'x-powered-by': null,
    });
  });

  it('changes its security headers with the configuration as helmet does: CORS_ORIGINS in frame-ancestors, no CSP with GRAPHQL_IDE', async () => {
    const changes: Array<[Record<string, string>, string | null]> = [
      [{ CORS_ORIGINS: 'https://flex.twilio.com,https://crm.example.com' }, "frame-ancestors 'self' https://flex.twilio.com https://crm.example.com;"],
      [{ GRAPHQL_IDE: 'true' }, null],
    ];
    for (const [env, frameAncestors] of changes) {
      const other = await startHarness({ sandbox: h.sandbox, env });
      try {
        for (const path of ['/panel', '/healthz']) {
          const { service, byHelmet } = await securityHeaders(other, path);
          expect(service).toEqual(byHelmet);
          expect(service['content-security-policy']).toEqual(frameAncestors === null ? null : expect.stringContaining(frameAncestors));
        }
      } finally {
        await other.close();
      }
    }
  });
});

describe('rate limits (e2e)', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(process.env.TEST_REDIS_URL as string);
  });
  afterAll(() => redis.quit());
  const redisKeys = async (pattern: string) => {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...batch);
    } while (cursor !== '0');
    return found;
  };

  it('answers 429 once one token spends its budget across two instances sharing Redis', async () => {
    const env = { RATE_LIMIT_WORKER_MAX: '5' };
    const a = await startHarness({ env, keyPrefix: `rl${process.pid}x${Date.now() % 100000}:` });
    const b = await startHarness({ env, sandbox: a.sandbox, keyPrefix: a.config.redis.keyPrefix });
    try {
      const statuses: number[] = [];
      for (const h of [a, b, a, b, a]) statuses.push((await h.gql('{ __typename }')).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200]);
      const limited = await post(b.url, { query: '{ __typename }' }, bearer(a.sandbox.credentials.agentToken));
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      const body = (await limited.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0].extensions.code).toBe('RATE_LIMITED');
      // Another agent's token still has its own budget.
      expect((await b.gql('{ __typename }', undefined, bearer(a.sandbox.credentials.supervisorToken))).status).toBe(200);
    } finally {
      await b.close();
      await a.close();
    }
  });

  it('limits per client IP, tokens or not, and never health checks', async () => {
    const h = await startHarness({ env: { RATE_LIMIT_IP_MAX: '3' } });
    try {
      const statuses: number[] = [];
      for (const headers of [{}, bearer('forged.e30.sig'), {}, bearer(h.sandbox.credentials.agentToken)])
        statuses.push((await h.gql('{ __typename }', undefined, headers)).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
      expect(codes(await h.gql('{ __typename }'))).toEqual(['RATE_LIMITED']);
      for (let i = 0; i < 5; i++) expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
      // The budgets are in Redis, keyed by a keyed digest of the address: no key names the IP.
      const budgets = await redisKeys(`${h.config.redis.keyPrefix}rl:*`);
      expect(budgets.filter((key) => key.includes(':ip:'))).toHaveLength(1);
      expect(budgets.filter((key) => key.includes(':new-token:'))).toHaveLength(1);
      expect(budgets.filter((key) => /127\.0\.0\.1|::1|::ffff/.test(key))).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('limits webhook floods per client IP before checking any signature', async () => {
    const h = await startHarness({ env: { RATE_LIMIT_IP_MAX: '1' } });
    try {
      const statuses: number[] = [];
      // Ten times the per-address budget for signed callbacks, then refused before the signature is read.
      for (let i = 0; i < 11; i++)
        statuses.push(
          (
            await fetch(`${h.url}/webhooks/segment`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-signature': 'f'.repeat(40) },
              body: '{}',
            })
          ).status,
        );
      expect(statuses.slice(0, 10).every((status) => status === 401 || status === 403)).toBe(true);
      expect(statuses[10]).toBe(429);
    } finally {
      await h.close();
    }
  });

  it('limits the tokens one address may have checked by Twilio', async () => {
    const h = await startHarness({ env: { RATE_LIMIT_IP_MAX: '20' } });
    try {
      const other = await startSandbox({ quiet: true, customers: 6, seed: 9 });
      const statuses: number[] = [];
      try {
        for (let i = 0; i < 3; i++)
          statuses.push((await h.gql('{ __typename }', undefined, bearer(other.issueToken({ identity: other.data.agents[0].identity })))).status);
      } finally {
        await other.close();
      }
      // A tenth of the address's budget may be new tokens: two, then 429 without an IAM call.
      expect(statuses).toEqual([401, 401, 429]);
      expect(h.sandbox.calls.count({ service: 'twilio', route: 'token_validate' })).toBe(2);
    } finally {
      await h.close();
    }
  });
});

describe('upstream errors (e2e)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("answers a Twilio refusal with a stable code and message, never Twilio's words, which quote the customer", async () => {
    const vip = h.sandbox.data.byArchetype('vip');
    const sid = (await taskRouter(h).tasks.create({ attributes: JSON.stringify({ from: vip.phone }) })).sid;
    // Twilio's 400s name what they refused (its error 21211: "The 'To' number … is not a valid phone number").
    h.sandbox.faults.add({ service: 'twilio', route: 'task_update', status: 400, message: `Invalid attributes for ${vip.phone} (${vip.email})` });
    try {
      const response = await post(
        h.url,
        { query: 'mutation ($sid: ID!) { enrichTask(taskSid: $sid) { stamped } }', variables: { sid } },
        bearer(h.sandbox.credentials.agentToken),
      );
      const text = await response.text();
      expect(h.sandbox.calls.count({ service: 'twilio', route: 'task_update' })).toBe(1);
      expect(JSON.parse(text)).toMatchObject({ errors: [{ message: 'Twilio rejected the request', extensions: { code: 'BAD_REQUEST' } }] });
      expect(text).not.toContain(vip.phone as string);
      expect(text).not.toContain(vip.email as string);
    } finally {
      h.sandbox.faults.clear();
    }
  });
});
