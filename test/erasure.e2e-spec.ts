import { Logger } from '@nestjs/common';
import type { Client } from 'graphql-ws';
import { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { cacheKeys } from '../src/cache/cache-keys';
import { CacheService } from '../src/cache/cache.service';
import { startSandbox, type Sandbox, type SandboxCustomer } from '../src/sandbox/sandbox';
import { forwardUserDeletion } from '../src/sandbox/segment-deletions';
import { eventually } from './support/eventually';
import { startHarness, type Harness } from './support/harness';
import { subscribeToChanges } from './support/graphql-ws-client';
import { postSegment } from './support/segment-callers';

const SECRET = 'erasure-secret';
/** A plain hash's first 16 characters: found in any longer cut of it too. */
const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 16);

const FULL = `query ($lookup: CustomerLookupInput!) {
  customerContext(lookup: $lookup) {
    profileId externalIds { type id } traits audiences
    events(first: 50) { edges { node { id name properties } } }
    conversations(first: 10) { edges { node { sid messages(last: 20) { author body } } } }
    signals { openConversations } routing { attributes }
  }
}`;
const ERASE = `mutation ($lookup: CustomerLookupInput!) {
  eraseCustomer(lookup: $lookup) { found cacheEntries pendingChanges tasksNeutralised tasksFailed suppressedIdentifiers suppressedUntil }
}`;

interface Change {
  profileId: string;
  parts: string[];
  source: string;
}

/** Every string in Redis under a prefix: keys and values (strings, hashes, lists, sets, streams). */
async function redisDump(redis: Redis, prefix: string): Promise<Array<{ key: string; text: string }>> {
  const out: Array<{ key: string; text: string }> = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      let value: unknown;
      if (type === 'string') value = await redis.get(key);
      else if (type === 'hash') value = await redis.hgetall(key);
      else if (type === 'list') value = await redis.lrange(key, 0, -1);
      else if (type === 'set') value = await redis.smembers(key);
      else if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES');
      else if (type === 'stream') value = await redis.xrange(key, '-', '+');
      out.push({ key, text: JSON.stringify(value) });
    }
  } while (cursor !== '0');
  return out;
}

describe('erasure reaches every copy (e2e)', () => {
  let sandbox: Sandbox;
  let a: Harness;
  let b: Harness;
  let redis: Redis;
  const clients: Client[] = [];
  const keyPrefix = `erase${process.pid}:`;

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 20, quiet: true });
    const env = { SEGMENT_WEBHOOK_SECRET: SECRET };
    a = await startHarness({ sandbox, env, keyPrefix });
    b = await startHarness({ sandbox, env, keyPrefix });
    redis = new Redis(process.env.TEST_REDIS_URL as string);
  });
  afterAll(async () => {
    await Promise.all(clients.map(async (c) => c.dispose()));
    redis?.disconnect();
    await a?.close();
    await b?.close();
    await sandbox?.close();
  });

  const admin = () => ({ authorization: `Bearer ${sandbox.issueToken({ identity: sandbox.data.agents[0].identity, roles: ['admin'] })}` });

  const until = (check: () => boolean, what: string, timeoutMs = 5_000) => eventually(check, (met) => met, timeoutMs, what);

  /** The other instance hears of an erasure over Redis pub/sub, a moment after the erasing one answers. */
  const forgotten = (h: Harness, lookup: Record<string, unknown>) =>
    eventually(
      () => h.gql<{ customerContext: unknown }>(FULL, { lookup }),
      (read) => read.data?.customerContext === null,
      5_000,
      `the customer forgotten on ${h.url} after the erasure`,
    );

  const subscribe = async (h: Harness, profileId: string) => {
    const pushes = await subscribeToChanges<Change>(h, { token: sandbox.credentials.agentToken, profileId, selection: 'profileId parts source' });
    clients.push(pushes.client);
    return pushes.received;
  };

  /** Strings that name the customer: identifiers (raw and hashed as keys hash them), profile id, name, conversations. */
  const namesOf = (c: SandboxCustomer) => {
    const clear = [c.profileId!, c.userId!, c.email!, c.phone!, c.phone!.replace('+', ''), ...c.anonymousIds, ...c.conversations.map((x) => x.sid)];
    if (c.name) clear.push(c.name);
    const identifiers = [`user_id:${c.userId}`, `email:${c.email}`, `phone:${c.phone}`, ...c.anonymousIds.map((id) => `anonymous_id:${id}`)];
    const hashed = [...identifiers.map(digest), digest(c.phone!), digest(`whatsapp:${c.phone}`), digest(c.email!)];
    return { clear, hashed };
  };

  it('removes every copy on both instances, neutralises the open task, tells subscribers, and suppresses the identifiers', async () => {
    const vip = sandbox.data.byArchetype('vip');
    const names = namesOf(vip);
    const lookup = { userId: vip.userId };

    // The footprint: read in full on both instances.
    for (const h of [a, b]) {
      const read = await h.gql<{ customerContext: { profileId: string } }>(FULL, { lookup });
      expect(read.data?.customerContext.profileId).toBe(vip.profileId);
    }
    await b.gql(FULL, { lookup: { phone: vip.phone } });
    // A subscription on B, and webhook news on A that it hears about (and that stays pending).
    const pushed = await subscribe(b, vip.profileId!);
    const news = await postSegment(a, { type: 'identify', userId: vip.userId, messageId: `erase-news-${Date.now()}`, traits: { nickname: 'Cap' } });
    expect(await news.json()).toMatchObject({ outcomes: { applied: 1 } });
    await until(() => pushed.some((c) => c.parts.includes('traits')), 'the webhook news push');
    // A stamped open task.
    const task = vip.tasks[0];
    const stamp = await a.gql<{ enrichTask: { stamped: boolean } }>(
      `mutation ($sid: ID!) { enrichTask(taskSid: $sid) { stamped } }`,
      { sid: task.sid },
      admin(),
    );
    expect(stamp.data?.enrichTask.stamped).toBe(true);
    expect(sandbox.data.task(task.sid)?.attributes.customer_context).toBeDefined();
    expect(sandbox.data.task(task.sid)?.assignmentStatus).toBe('pending');

    const before = await redisDump(redis, keyPrefix);
    const named = (text: string) => names.clear.some((n) => text.includes(n)) || names.hashed.some((n) => text.includes(n));
    expect(before.filter((e) => named(e.key + e.text)).length).toBeGreaterThan(5);
    // The cache keys the customer had (bentocache stores them under `<prefix>c:cache:<key>` or similar).
    const cachedKeys = before
      .filter((e) => named(e.key + e.text))
      .map((e) => e.key)
      .flatMap((key) => {
        const at = key.indexOf(':', keyPrefix.length + 1);
        const inner = key.slice(at + 1);
        return [inner, key.slice(keyPrefix.length)];
      });

    // An agent may not erase.
    const refused = await a.gql(ERASE, { lookup });
    expect(refused.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect(await redisDump(redis, keyPrefix)).toHaveLength(before.length);

    const auditSpy = jest.spyOn(Logger.prototype, 'log');
    const erased = await a.gql<{ eraseCustomer: Record<string, unknown> }>(ERASE, { lookup }, admin());
    expect(erased.errors).toBeUndefined();
    expect(erased.data?.eraseCustomer).toMatchObject({ found: true, pendingChanges: 1, tasksNeutralised: 1, tasksFailed: 0 });
    expect(erased.data?.eraseCustomer.cacheEntries).toBeGreaterThan(5);

    // The audit line: who erased whom (hashed), what was removed; it does not name the customer.
    const audit = auditSpy.mock.calls.map(([entry]) => entry as Record<string, unknown>).find((entry) => entry?.audit === 'customer.erased');
    auditSpy.mockRestore();
    expect(audit).toMatchObject({ who: { via: 'graphql', identity: sandbox.data.agents[0].identity }, removed: { tasksNeutralised: 1, pendingChanges: 1 } });
    expect(named(JSON.stringify(audit))).toBe(false);

    // Subscribers are told; the other instance has dropped its copies once it answers "nobody".
    await forgotten(b, lookup);
    await until(() => pushed.some((c) => c.parts.includes('erased')), 'the erased push');
    expect(pushed.find((c) => c.parts.includes('erased'))).toEqual({ profileId: vip.profileId, parts: ['erased'], source: 'erasure' });

    // The open task's stamp is neutral, written with If-Match, and every other attribute kept.
    const after = sandbox.data.task(task.sid)!;
    expect(after.attributes.customer_context).toEqual({ erased: true });
    expect(after.attributes.customers).toBeUndefined();
    expect(after.attributes.from).toBe((JSON.parse(task.attributes) as { from?: unknown }).from);
    expect(after.updates[after.updates.length - 1].ifMatch).not.toBeNull();

    // Redis: nothing names the customer but the suppression markers (hashed identifier → nobody).
    const left = (await redisDump(redis, keyPrefix)).filter((e) => named(e.key + e.text));
    for (const entry of left) {
      expect(names.clear.some((n) => (entry.key + entry.text).includes(n))).toBe(false);
      expect(entry.text).toMatch(/\\"v\\":(null|\[\])/);
    }

    // Both instances: every key the customer had is gone from L1 (peek reads L1 first), or is a suppression marker.
    for (const h of [a, b]) {
      const cache = h.app.get(CacheService);
      for (const key of cachedKeys) {
        const cached = await cache.peek<unknown>(key);
        if (cached) expect(cached.value === null || (Array.isArray(cached.value) && cached.value.length === 0)).toBe(true);
      }
      for (const key of cacheKeys.profileKeys(vip.profileId!)) expect(await cache.peek(key)).toBeUndefined();
      const metrics = await (await fetch(`${h.url}/metrics`)).text();
      expect(names.clear.filter((n) => metrics.includes(n))).toEqual([]);
    }

    // Every identifier now resolves to nobody on both instances, without asking Segment (which still knows them).
    sandbox.calls.reset();
    for (const h of [a, b]) {
      for (const by of [{ userId: vip.userId }, { email: vip.email }, { phone: vip.phone }, { address: `whatsapp:${vip.phone}` }]) {
        const read = await h.gql<{ customerContext: unknown }>(FULL, { lookup: by });
        expect(read.data?.customerContext).toBeNull();
      }
    }
    expect(sandbox.calls.count({ service: 'segment' })).toBe(0);
  });

  it("erases on Segment's forwarded deletion request (signed), and refuses an unsigned one", async () => {
    const customer = sandbox.data.byArchetype('new');
    const lookup = { userId: customer.userId };
    for (const h of [a, b])
      expect((await h.gql<{ customerContext: { profileId: string } }>(FULL, { lookup })).data?.customerContext.profileId).toBe(customer.profileId);

    const forged = await forwardUserDeletion({ webhookUrl: `${b.url}/webhooks/segment`, sharedSecret: 'not-the-secret', userId: customer.userId! });
    expect(forged.status).toBe(403);
    expect((await a.gql<{ customerContext: unknown }>(FULL, { lookup })).data?.customerContext).not.toBeNull();

    const response = await forwardUserDeletion({ webhookUrl: `${b.url}/webhooks/segment`, sharedSecret: SECRET, userId: customer.userId! });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ received: 1, outcomes: { erased: 1 } });
    await forgotten(a, lookup);
    for (const h of [a, b]) expect((await h.gql<{ customerContext: unknown }>(FULL, { lookup })).data?.customerContext).toBeNull();
    const left = (await redisDump(redis, keyPrefix)).filter(
      (e) => e.key.includes(customer.profileId!) || e.text.includes(customer.profileId!) || e.text.includes(customer.email!),
    );
    expect(left).toEqual([]);
  });
});
