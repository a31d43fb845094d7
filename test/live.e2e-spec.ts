import type { Client } from 'graphql-ws';
import { createHmac } from 'node:crypto';
import { Registry } from 'prom-client';
import { getExpectedTwilioSignature } from 'twilio';
import { startSandbox, type Sandbox, type SandboxCustomer } from '../src/sandbox/sandbox';
import { eventually } from './support/eventually';
import { connectGraphqlWs, subscribeToChanges } from './support/graphql-ws-client';
import { startHarness, type Harness } from './support/harness';
import { startRedisProxy, type RedisProxy } from './support/redis-proxy';
import { postSegment } from './support/segment-callers';
import { postForm, PUBLIC_BASE_URL } from './support/twilio-callers';

/**
 * Live context: webhooks landing on one instance update what another instance answers and reach
 * its GraphQL subscribers, without asking the Profile API.
 */

const SECRET = 'shh-segment-secret';

interface Change {
  profileId: string;
  parts: string[];
  source: string;
  traits: Record<string, unknown> | null;
  event: { id: string; name: string | null } | null;
  message: { sid: string; body: string | null; fromCustomer: boolean } | null;
}

const CONTEXT = `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) {
  profileId traits events(first: 3) { edges { node { id name } } }
  conversations(first: 5) { edges { node { sid messages(last: 1) { sid body } } } } } }`;
interface Answer {
  customerContext: {
    profileId: string;
    traits: Record<string, unknown>;
    events: { edges: Array<{ node: { id: string; name: string | null } }> };
    conversations: { edges: Array<{ node: { sid: string; messages: Array<{ sid: string; body: string | null }> } }> };
  } | null;
}

describe('live context (e2e)', () => {
  let sandbox: Sandbox;
  let a: Harness;
  let b: Harness;
  const clients: Client[] = [];

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 60, quiet: true });
    const env = { SEGMENT_WEBHOOK_SECRET: SECRET, PUBLIC_BASE_URL, TRACKING_FLUSH_AT: '1' };
    const keyPrefix = `live${process.pid}:`;
    a = await startHarness({ sandbox, env, keyPrefix });
    b = await startHarness({ sandbox, env, keyPrefix });
  });
  afterAll(async () => {
    await Promise.all(clients.map(async (c) => c.dispose()));
    await a.close();
    await b.close();
    await sandbox.close();
  });
  beforeEach(() => sandbox.faults.clear());

  const postConversations = (h: Harness, params: Record<string, string>, signature?: string) => postForm(h, '/webhooks/conversations', params, signature);

  /** A graphql-ws subscriber on an instance, registered (a sentinel change received); collects every change it receives. */
  const subscribe = async (h: Harness, profileId: string, token = sandbox.credentials.agentToken) => {
    const subscriber = await subscribeToChanges<Change>(h, {
      token,
      profileId,
      selection: 'profileId parts source traits event { id name } message { sid body fromCustomer }',
    });
    clients.push(subscriber.client);
    return subscriber;
  };
  const until = async (check: () => boolean, timeoutMs = 5_000) => eventually(check, (met) => met, timeoutMs);
  const known = async (customer: SandboxCustomer) => {
    const answer = await b.gql<Answer>(CONTEXT, { lookup: { userId: customer.userId, phone: customer.phone } });
    expect(answer.errors).toBeUndefined();
    return answer.data!.customerContext!;
  };
  /** A counter's value on an instance, read from its Prometheus registry. */
  const metricValue = async (h: Harness, name: string, labels: Record<string, string>) => {
    const metric = await h.app.get(Registry).getSingleMetric(name)?.get();
    const found = metric?.values.find((v) => Object.entries(labels).every(([k, value]) => v.labels[k] === value));
    return found?.value ?? 0;
  };
  const customer = (n: number) => sandbox.data.customers.filter((c) => c.index > 5 && c.userId && c.phone && c.conversations.length > 0)[n];

  it('a signed Segment track posted to A reaches a subscriber on B, and B answers with it without a Profile API call', async () => {
    const c = customer(0);
    await known(c);
    const sub = await subscribe(b, c.profileId!);
    sandbox.calls.reset();
    const response = await postSegment(a, {
      type: 'track',
      event: 'Cart Abandoned',
      userId: c.userId,
      messageId: 'live-track-1',
      timestamp: new Date().toISOString(),
      properties: { value: 42 },
    });
    expect(response.status).toBe(200);
    await until(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({
      profileId: c.profileId,
      parts: ['events'],
      source: 'segment',
      event: { id: 'live-track-1', name: 'Cart Abandoned' },
    });
    const after = await known(c);
    expect(after.events.edges[0].node).toEqual({ id: 'live-track-1', name: 'Cart Abandoned' });
    expect(sandbox.calls.count({ service: 'segment' })).toBe(0);
  });

  it('a Conversations onMessageAdded posted to A reaches a subscriber on B, and B shows the message', async () => {
    const c = customer(1);
    const before = await known(c);
    const conversationSid = before.conversations.edges[0].node.sid;
    const sub = await subscribe(b, c.profileId!);
    const message = sandbox.data.addMessage(conversationSid, { author: c.phone!, body: 'Where is my parcel?' });
    sandbox.calls.reset();
    const response = await postConversations(a, {
      EventType: 'onMessageAdded',
      ConversationSid: conversationSid,
      MessageSid: message.sid,
      Body: 'Where is my parcel?',
      Author: c.phone!,
      DateCreated: new Date().toISOString(),
      AccountSid: sandbox.credentials.accountSid,
    });
    expect(response.status).toBe(200);
    await until(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({
      profileId: c.profileId,
      source: 'conversations',
      message: { sid: message.sid, body: 'Where is my parcel?', fromCustomer: true },
    });
    expect(sub.received[0].parts).toEqual(expect.arrayContaining(['conversations', 'messages']));
    const after = await known(c);
    const updated = after.conversations.edges.find((e) => e.node.sid === conversationSid)!;
    expect(updated.node.messages[0]).toEqual({ sid: message.sid, body: 'Where is my parcel?' });
    expect(sandbox.calls.count({ service: 'segment' })).toBe(0);
  });

  it("an agent's reply (authored by their Flex identity, an email) reaches the customer's subscribers too", async () => {
    const c = customer(3);
    const before = await known(c);
    const conversationSid = before.conversations.edges[0].node.sid;
    const agent = sandbox.data.conversation(conversationSid)!.agent.identity!;
    expect(agent).toContain('@');
    const sub = await subscribe(b, c.profileId!);
    const message = sandbox.data.addMessage(conversationSid, { author: agent, body: 'It ships tomorrow.' });
    const response = await postConversations(a, {
      EventType: 'onMessageAdded',
      ConversationSid: conversationSid,
      MessageSid: message.sid,
      Body: 'It ships tomorrow.',
      Author: agent,
      DateCreated: new Date().toISOString(),
      AccountSid: sandbox.credentials.accountSid,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: 'applied' });
    await until(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({ profileId: c.profileId, message: { sid: message.sid, body: 'It ships tomorrow.', fromCustomer: false } });
    const updated = (await known(c)).conversations.edges.find((e) => e.node.sid === conversationSid)!;
    expect(updated.node.messages[0]).toEqual({ sid: message.sid, body: 'It ships tomorrow.' });
  });

  it('dedupes Conversations events on their signed fields, not the unsigned idempotency token', async () => {
    const c = customer(10);
    const conversationSid = (await known(c)).conversations.edges[0].node.sid;
    const sent = (params: Record<string, string>, token: string) => {
      const path = '/webhooks/conversations';
      const signature = getExpectedTwilioSignature(a.config.twilio.authToken, `${a.config.publicBaseUrl}${path}`, params);
      return fetch(`${a.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature, 'i-twilio-idempotency-token': token },
        body: new URLSearchParams(params).toString(),
      }).then((r) => r.json());
    };
    const event = (body: string) => {
      const message = sandbox.data.addMessage(conversationSid, { author: c.phone!, body });
      return {
        EventType: 'onMessageAdded',
        ConversationSid: conversationSid,
        MessageSid: message.sid,
        Body: body,
        Author: c.phone!,
        DateCreated: new Date().toISOString(),
        AccountSid: sandbox.credentials.accountSid,
      };
    };
    const first = event('first');
    expect(await sent(first, 'token-1')).toEqual({ outcome: 'applied' });
    // A signed delivery replayed with a fresh token changes nothing twice...
    expect(await sent(first, 'token-2')).toEqual({ outcome: 'duplicate' });
    // ...and a new event is not lost because a token was reused.
    expect(await sent(event('second'), 'token-1')).toEqual({ outcome: 'applied' });
  });

  it('refuses a bad signature: nothing changes, nothing is pushed', async () => {
    const c = customer(2);
    const before = await known(c);
    const sub = await subscribe(b, c.profileId!);
    const forged = await postSegment(a, { type: 'track', event: 'Forged', userId: c.userId, messageId: 'forged-1' }, '0'.repeat(40));
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe('FORBIDDEN');
    const unsigned = await fetch(`${a.url}/webhooks/segment`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"track"}' });
    expect(unsigned.status).toBe(401);
    const forgedTwilio = await postConversations(a, { EventType: 'onMessageAdded', ConversationSid: before.conversations.edges[0].node.sid }, 'bm9wZQ==');
    expect(forgedTwilio.status).toBe(403);
    // A change would have been published before the webhook was answered: the sentinel comes after it.
    await sub.barrier(a);
    expect(sub.received).toEqual([]);
    expect((await known(c)).events.edges[0]).toEqual(before.events.edges[0]);
  });

  it('applies the same messageId once', async () => {
    const c = customer(3);
    await known(c);
    const sub = await subscribe(b, c.profileId!);
    const message = { type: 'track', event: 'Coupon Applied', userId: c.userId, messageId: 'live-dup-1', timestamp: new Date().toISOString() };
    expect((await postSegment(a, message)).status).toBe(200);
    const again = await postSegment(b, message);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ outcomes: { duplicate: 1 } });
    await sub.barrier(a);
    expect(sub.received).toHaveLength(1);
  });

  it('applies only the first element of a batch whose signature covers that element alone', async () => {
    const c = customer(4);
    await known(c);
    const sub = await subscribe(b, c.profileId!);
    const signed = { type: 'track', event: 'Product Viewed', userId: c.userId, messageId: 'batch-1', timestamp: new Date(Date.now() - 1000).toISOString() };
    // Anyone holding that one signed delivery could append these: an identify that sets routing
    // traits and an invented event.
    const appended = [
      {
        type: 'identify',
        userId: c.userId,
        messageId: 'batch-2',
        traits: { plan: 'forged-by-appending' },
        timestamp: new Date(Date.now() + 3600_000).toISOString(),
      },
      { type: 'track', event: 'Refund Promised', userId: c.userId, messageId: 'batch-3', timestamp: new Date().toISOString() },
    ];
    const before = await metricValue(a, 'cc_webhook_events_total', { source: 'segment', outcome: 'unsigned' });
    const signature = createHmac('sha1', SECRET).update(JSON.stringify(signed)).digest('hex');
    const response = await postSegment(a, [signed, ...appended], signature);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ received: 3, outcomes: { applied: 1, duplicate: 0, unknown_customer: 0, ignored: 0, erased: 0, unsigned: 2 } });
    // Only the signed element was pushed.
    await sub.barrier(a);
    expect(sub.received.map((change) => change.event?.id ?? null)).toEqual(['batch-1']);
    const after = await known(c);
    expect(after.events.edges.map((e) => e.node.id)).toContain('batch-1');
    expect(after.events.edges.map((e) => e.node.id)).not.toContain('batch-3');
    expect(after.traits.plan).not.toBe('forged-by-appending');
    expect(await metricValue(a, 'cc_webhook_events_total', { source: 'segment', outcome: 'unsigned' })).toBe(before + 2);
    // The refused elements were not remembered as delivered: signed properly, they apply.
    const whole = await postSegment(a, appended);
    expect(await whole.json()).toMatchObject({ received: 2, outcomes: { applied: 2, unsigned: 0 } });
    expect((await known(c)).events.edges.map((e) => e.node.id)).toContain('batch-3');
  });

  it('applies every element of a batch signed over its whole body', async () => {
    const c = customer(5);
    await known(c);
    const batch = [
      { type: 'track', event: 'Product Viewed', userId: c.userId, messageId: 'whole-1', timestamp: new Date(Date.now() - 1000).toISOString() },
      { type: 'track', event: 'Product Added', userId: c.userId, messageId: 'whole-2', timestamp: new Date().toISOString() },
    ];
    const response = await postSegment(a, batch);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: 2, outcomes: { applied: 2, unsigned: 0 } });
    expect((await known(c)).events.edges.slice(0, 2).map((e) => e.node.id)).toEqual(['whole-2', 'whole-1']);
  });

  it('puts an out-of-order event in its place in the timeline', async () => {
    const c = sandbox.data.customers.filter((x) => x.index > 5 && x.userId && x.events.length > 3)[9];
    const before = await known(c);
    const old = new Date(Date.now() - 14 * 24 * 3600_000 + 60_000).toISOString();
    await postSegment(a, { type: 'track', event: 'Late Arrival', userId: c.userId, messageId: 'late-1', timestamp: old });
    expect(before.events.edges.length).toBeGreaterThan(0);
    expect((await known(c)).events.edges[0]).toEqual(before.events.edges[0]);
    const all = await b.gql<{ customerContext: { events: { edges: Array<{ node: { id: string } }> } } }>(
      `query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { events(first: 100) { edges { node { id } } } } }`,
      { lookup: { userId: c.userId } },
    );
    expect(all.data?.customerContext.events.edges.at(-1)?.node.id).toBe('late-1');
  });

  it('merges identify traits into the cached traits', async () => {
    const c = customer(6);
    const before = await known(c);
    const sub = await subscribe(b, c.profileId!);
    await postSegment(a, { type: 'identify', userId: c.userId, messageId: 'identify-1', traits: { plan: 'enterprise', favourite_colour: 'teal' } });
    await until(() => sub.received.length === 1);
    expect(sub.received[0]).toMatchObject({ parts: ['traits'], traits: { plan: 'enterprise', favourite_colour: 'teal' } });
    const after = await known(c);
    expect(after.traits).toEqual({ ...before.traits, plan: 'enterprise', favourite_colour: 'teal' });
    // The data team hears of it too, tied to the customer and without the values.
    await until(() => sandbox.tracking.events().some((e) => e.event === 'Customer Context Changed' && e.userId === c.userId));
    const tracked = sandbox.tracking.events().find((e) => e.event === 'Customer Context Changed' && e.userId === c.userId)!;
    expect(tracked.properties).toEqual({ parts: ['traits'], source: 'segment_webhook' });
  });

  it('drops a "__proto__" trait and keeps the rest of the identify', async () => {
    const c = customer(9);
    const before = await known(c);
    const traits = JSON.parse('{"__proto__": {"is_admin": true}, "plan": "poisoned-but-kept"}') as Record<string, unknown>;
    const response = await postSegment(a, { type: 'identify', userId: c.userId, messageId: 'identify-proto', traits });
    expect(response.status).toBe(200);
    const after = await known(c);
    expect(after.traits).toEqual({ ...before.traits, plan: 'poisoned-but-kept' });
    expect(Object.keys(after.traits)).not.toContain('__proto__');
    expect(({} as { is_admin?: unknown }).is_admin).toBeUndefined();
  });

  it('makes an aliased id resolve to the profile', async () => {
    const c = customer(7);
    await known(c);
    await postSegment(a, { type: 'alias', previousId: 'anon-before-login-7', userId: c.userId, messageId: 'alias-1' });
    sandbox.calls.reset();
    const answer = await b.gql<{ customerContext: { profileId: string } | null }>(
      `{ customerContext(lookup: {anonymousId: "anon-before-login-7"}) { profileId } }`,
    );
    expect(answer.data?.customerContext?.profileId).toBe(c.profileId);
    expect(sandbox.calls.count({ service: 'segment', route: 'external_ids' })).toBe(0);
  });

  it('costs nothing for customers nobody has looked up', async () => {
    const c = customer(8);
    sandbox.calls.reset();
    const response = await postSegment(a, { type: 'track', event: 'Page Viewed', userId: c.userId, messageId: 'cold-1' });
    expect(await response.json()).toMatchObject({ outcomes: { unknown_customer: 1 } });
    expect(sandbox.calls.count({ service: 'segment' }) + sandbox.calls.count({ service: 'twilio' })).toBe(0);
  });

  it('refuses malformed payloads with 400 and a subscription without a token', async () => {
    expect((await postSegment(a, { type: 'track', messageId: 'no-identity' })).status).toBe(400);
    expect((await postSegment(a, { type: 'teleport', userId: 'u', messageId: 'x' })).status).toBe(400);
    expect((await postSegment(a, [])).status).toBe(400);
    const bad = await fetch(`${a.url}/webhooks/segment`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-signature': createHmac('sha1', SECRET).update('{"type":').digest('hex') },
      body: '{"type":',
    });
    expect(bad.status).toBe(400);
    await expect(connectGraphqlWs(b, 'not-a-token')).rejects.toThrow(/closed/);
  });
});

/**
 * A webhook's change is announced as a cache key change (bentocache's bus) and then pushed (the
 * change bus); the kept answers, the pending overlay's memo and bentocache's L1 are dropped by
 * the key change alone. Instance B reaches Redis through a proxy that holds what Redis sends to
 * B's subscriber connections and hands over first the connection that received last, as an
 * unlucky network may: the push must not reach B's subscribers before the key change reaches
 * B's caches.
 */
describe('one path for changes between instances (e2e)', () => {
  let sandbox: Sandbox;
  let proxy: RedisProxy;
  let a: Harness;
  let b: Harness;
  let subscriber: Client | undefined;
  const until = async (check: () => boolean, timeoutMs = 5_000) => eventually(check, (met) => met, timeoutMs);

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 30, quiet: true });
    proxy = await startRedisProxy(process.env.TEST_REDIS_URL!);
    const env = { SEGMENT_WEBHOOK_SECRET: SECRET };
    const keyPrefix = `onepath${process.pid}:`;
    a = await startHarness({ sandbox, env, keyPrefix });
    b = await startHarness({ sandbox, env, keyPrefix, redis: proxy.url });
  });
  afterAll(async () => {
    proxy?.releaseAll();
    await subscriber?.dispose();
    await a?.close();
    await b?.close();
    await proxy?.close();
    await sandbox?.close();
  });

  it('a subscriber on B that reads the customer again when the push arrives reads the change, not the answer B kept from before', async () => {
    const c = sandbox.data.customers.filter((x) => x.index > 5 && x.userId && x.phone)[0];
    const read = async () => {
      const answer = await b.gql<Answer>(CONTEXT, { lookup: { userId: c.userId, phone: c.phone } });
      expect(answer.errors).toBeUndefined();
      return answer.data!.customerContext!;
    };
    const sub = await subscribeToChanges<Change>(b, { token: sandbox.credentials.agentToken, profileId: c.profileId!, selection: 'profileId parts traits' });
    subscriber = sub.client;
    // Read after the subscription's barrier (a change of its own): B keeps this answer, the overlay memo and the traits in L1.
    const before = await read();
    expect(before.traits.plan).not.toBe('ordered-gold');

    proxy.hold();
    const response = await postSegment(a, { type: 'identify', userId: c.userId, messageId: 'one-path-1', traits: { plan: 'ordered-gold' } });
    expect(response.status).toBe(200);
    // Both messages reached B's side: the key change (its news key) and the push (its trait value).
    await proxy.holding(`p:{${c.profileId}}:news`, 'ordered-gold');
    proxy.releaseNewest();
    await until(() => sub.received.length === 1);
    const reread = await read(); // what a panel does on the push
    proxy.releaseAll();

    expect(sub.received[0]).toMatchObject({ profileId: c.profileId, parts: ['traits'], traits: { plan: 'ordered-gold' } });
    expect(reread.traits).toEqual({ ...before.traits, plan: 'ordered-gold' });
  });
});

describe('the Segment webhook without a secret (e2e)', () => {
  it('refuses everything', async () => {
    const h = await startHarness({});
    try {
      const raw = JSON.stringify({ type: 'track', event: 'X', userId: 'u1', messageId: 'm1' });
      const response = await fetch(`${h.url}/webhooks/segment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature': createHmac('sha1', 'anything').update(raw).digest('hex') },
        body: raw,
      });
      expect(response.status).toBe(403);
    } finally {
      await h.close();
    }
  });
});
