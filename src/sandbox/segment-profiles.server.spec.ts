import { startSandbox, type Sandbox, type SandboxCustomer } from './sandbox';

interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}
interface Cursor {
  url: string;
  has_more: boolean;
  next: string;
}
interface TraitsBody {
  traits: Record<string, unknown>;
  cursor: Cursor;
}
interface ListBody<T = Record<string, unknown>> {
  data: T[];
  cursor: Cursor;
}
interface EventBody {
  type: string;
  event: string;
  message_id: string;
  timestamp: string;
  properties: Record<string, unknown>;
}

describe('Segment Profile API', () => {
  let sandbox: Sandbox;
  let vip: SandboxCustomer;
  let long: SandboxCustomer;

  const basic = (user: string): string => 'Basic ' + Buffer.from(`${user}:`).toString('base64');
  async function get<T = Record<string, unknown>>(path: string, options: { token?: string | null; space?: string } = {}): Promise<Answer<T>> {
    const token = options.token === undefined ? sandbox.credentials.accessToken : options.token;
    const url = `${sandbox.segmentUrl}/v1/spaces/${options.space ?? sandbox.credentials.spaceId}/collections/users/profiles/${path}`;
    const response = await fetch(url, { headers: token === null ? {} : { authorization: basic(token) } });
    return { status: response.status, body: (await response.json()) as T, headers: response.headers };
  }
  /** Follows `next` until has_more is false; returns every page. */
  async function pages<T extends { cursor: Cursor }>(path: string): Promise<T[]> {
    const all: T[] = [];
    let next = '';
    do {
      const separator = path.includes('?') ? '&' : '?';
      const { status, body } = await get<T>(next ? `${path}${separator}next=${encodeURIComponent(next)}` : path);
      expect(status).toBe(200);
      all.push(body);
      next = body.cursor.has_more ? body.cursor.next : '';
      expect(all.length).toBeLessThan(50);
    } while (next);
    return all;
  }
  const phoneId = (c: SandboxCustomer): string => `phone:${encodeURIComponent(c.phone as string)}`;

  beforeAll(async () => {
    sandbox = await startSandbox({ customers: 60, quiet: true });
    vip = sandbox.data.byArchetype('vip');
    long = sandbox.data.byArchetype('long_history');
  });
  afterAll(() => sandbox.close());

  describe('auth and addressing', () => {
    it('answers 401 authentication_error without or with a wrong access token', async () => {
      for (const token of [null, 'wrong']) {
        const { status, body } = await get(`${phoneId(vip)}/traits`, { token });
        expect(status).toBe(401);
        expect(body).toEqual({ error: { code: 'authentication_error', message: expect.any(String) } });
      }
    });

    it('answers 404 for another space', async () => {
      const { status, body } = await get(`${phoneId(vip)}/traits`, { space: 'spa_other' });
      expect(status).toBe(404);
      expect(body).toMatchObject({ error: { code: 'not_found' } });
    });

    it('puts a Request-Id on every answer', async () => {
      const ok = await get(`${phoneId(vip)}/traits`);
      const missing = await get('user_id:nobody/traits');
      expect(ok.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(missing.headers.get('request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(ok.headers.get('request-id')).not.toBe(missing.headers.get('request-id'));
    });

    it('finds a profile by every identifier it has, as type:value with the value percent-encoded', async () => {
      const ids = [
        `user_id:${encodeURIComponent(vip.userId as string)}`,
        `email:${encodeURIComponent(vip.email as string)}`, // has a '+': %2B, and '@': %40
        phoneId(vip),
        `anonymous_id:${vip.anonymousIds[0]}`,
      ];
      for (const id of ids) {
        const { status, body } = await get<TraitsBody>(`${id}/traits?include=email`);
        expect({ id, status, email: body.traits.email }).toEqual({ id, status: 200, email: vip.email });
      }
    });

    it('needs a + sent as %2B: unescaped, it reads as a space and finds nobody (profile-api.md, "Find a user\'s external id")', async () => {
      expect(vip.phone).toMatch(/^\+/);
      expect((await get(`phone:${vip.phone}/traits`)).status).toBe(404);
      expect((await get(`phone:${(vip.phone as string).replace('+', '%20')}/traits`)).status).toBe(404);
      expect((await get(`phone:${(vip.phone as string).replace('+', '%2B')}/traits`)).status).toBe(200);
      expect(vip.email).toContain('+');
      expect((await get(`email:${vip.email}/traits`)).status).toBe(404);
    });

    it("answers 404 not_found for the profile's bare use_ id on every route: only type:value is documented", async () => {
      for (const resource of ['traits', 'events', 'external_ids', 'metadata', 'links']) {
        const { status, body } = await get(`${vip.profileId}/${resource}`);
        expect({ resource, status, body }).toEqual({ resource, status: 404, body: { error: { code: 'not_found', message: 'Profile was not found.' } } });
      }
    });

    it('answers 404 not_found for unknown ids, unknown types, ids without a type and the no_profile customer', async () => {
      const twilioOnly = sandbox.data.byArchetype('no_profile');
      const paths = [
        `${vip.profileId}/traits`,
        `${encodeURIComponent(`user_id:${vip.userId}`)}/traits`,
        'user_id:nobody/traits',
        `phone:${encodeURIComponent(sandbox.data.unknownPhone())}/events`,
        `ga_client_id:${encodeURIComponent(vip.userId as string)}/traits`,
        `${encodeURIComponent(vip.email as string)}/traits`,
        'use_000000000000000000000000000/traits',
        `:${vip.profileId}/traits`,
        `${phoneId(twilioOnly)}/traits`,
        `${phoneId(twilioOnly)}/events`,
        `${phoneId(twilioOnly)}/external_ids`,
        `${phoneId(twilioOnly)}/metadata`,
      ];
      for (const path of paths) {
        const { status, body } = await get(path);
        expect({ path, status, body }).toEqual({ path, status: 404, body: { error: { code: 'not_found', message: 'Profile was not found.' } } });
      }
    });

    it('reads phones from the configured external-id type', async () => {
      const other = await startSandbox({ customers: 6, quiet: true, phoneIdType: 'mobile' });
      try {
        const customer = other.data.byArchetype('vip');
        const url = (type: string): string =>
          `${other.segmentUrl}/v1/spaces/${other.credentials.spaceId}/collections/users/profiles/${type}:${encodeURIComponent(customer.phone as string)}/external_ids`;
        const headers = { authorization: basic(other.credentials.accessToken) };
        expect((await fetch(url('phone'), { headers })).status).toBe(404);
        const found = await fetch(url('mobile'), { headers });
        expect(found.status).toBe(200);
        expect(((await found.json()) as ListBody).data).toContainEqual(expect.objectContaining({ type: 'mobile', id: customer.phone }));
      } finally {
        await other.close();
      }
    });
  });

  describe('/traits', () => {
    const expected = (c: SandboxCustomer): Record<string, unknown> => ({ ...c.traits, ...c.audiences });

    it('pages with the cursor: 3 pages at the default 10, 2 at limit 20', async () => {
      const byTen = await pages<TraitsBody>(`${phoneId(vip)}/traits`);
      expect(byTen).toHaveLength(3);
      expect(byTen.map((p) => Object.keys(p.traits).length)).toEqual([10, 10, 10]);
      expect(Object.assign({}, ...byTen.map((p) => p.traits))).toEqual(expected(vip));
      expect(byTen[2].cursor).toEqual({ url: expect.any(String), has_more: false, next: '' });
      expect(byTen[0].cursor.url).toBe(`/v1/spaces/${sandbox.credentials.spaceId}/collections/users/profiles/${vip.profileId}/traits`);
      expect(byTen[0].cursor.next).toMatch(/^[A-Za-z0-9+/]+=*$/);

      const byTwenty = await pages<TraitsBody>(`${phoneId(vip)}/traits?limit=20`);
      expect(byTwenty).toHaveLength(2);
      expect(Object.assign({}, ...byTwenty.map((p) => p.traits))).toEqual(expected(vip));
    });

    it('returns audiences as boolean traits, and only them with class=audience', async () => {
      const { body } = await get<TraitsBody>(`${phoneId(vip)}/traits?class=audience&limit=50`);
      expect(body.traits).toEqual({ vip: true, high_value: true, churn_risk_high: false });
    });

    it('returns only computed traits with class=computed_trait', async () => {
      const { body } = await get<TraitsBody>(`${phoneId(vip)}/traits?class=computed_trait&limit=50`);
      expect(Object.keys(body.traits).sort()).toEqual(
        [
          'lifetime_value',
          'churn_risk',
          'last_purchase_at',
          'orders_count',
          'avg_order_value',
          'emails_opened_last_30_days',
          'days_since_last_seen',
          'preferred_channel',
        ].sort(),
      );
    });

    it('filters with include and wraps values with verbose=true', async () => {
      const { body } = await get<TraitsBody>(`${phoneId(vip)}/traits?include=plan,vip,nope&verbose=true`);
      expect(body.traits).toEqual({
        plan: { value: 'platinum', source_id: expect.any(String), updated_at: expect.any(String) },
        vip: { value: true, source_id: expect.any(String), updated_at: expect.any(String) },
      });
      expect(body.cursor).toMatchObject({ has_more: false, next: '' });
    });

    it("dates profile traits within the last 30 days, long_history's long ago, computed ones now", async () => {
      const now = Date.now();
      const traits = Object.assign({}, ...(await pages<TraitsBody>(`${phoneId(long)}/traits?limit=100&verbose=true`)).map((p) => p.traits)) as Record<
        string,
        { updated_at: string }
      >;
      const age = (key: string) => (now - Date.parse(traits[key].updated_at)) / 86_400_000;
      expect(age('plan')).toBeGreaterThan(365);
      expect(age('lifetime_value')).toBeLessThan(1);
      expect(age('custom_attribute_001')).toBeLessThan(31);
      const { body } = await get<TraitsBody>(`${phoneId(vip)}/traits?include=plan&verbose=true`);
      const plan = (body.traits as Record<string, { updated_at: string }>).plan;
      expect((now - Date.parse(plan.updated_at)) / 86_400_000).toBeLessThan(31);
      expect(Date.parse(plan.updated_at)).toBeGreaterThanOrEqual(Date.parse(vip.createdAt));
    });

    it('pages the 150 traits of long_history at limit 100 in two', async () => {
      const byHundred = await pages<TraitsBody>(`${phoneId(long)}/traits?limit=100`);
      expect(byHundred).toHaveLength(2);
      expect(Object.assign({}, ...byHundred.map((p) => p.traits))).toEqual(expected(long));
    });

    it('answers 400 validation_error for a limit outside 1..100 (profile-api.md, "Request arguments")', async () => {
      for (const limit of ['0', '101', '200', 'ten', '-1', '1.5']) {
        const { status, body } = await get(`${phoneId(vip)}/traits?limit=${limit}`);
        expect({ limit, status, code: (body as { error: { code: string } }).error.code }).toEqual({ limit, status: 400, code: 'validation_error' });
      }
    });

    it('answers 400 invalid_request_error for a bad cursor', async () => {
      const eventsPage = await get<ListBody>(`${phoneId(vip)}/events`);
      for (const next of ['not-base64!', Buffer.from('traits:x').toString('base64'), eventsPage.body.cursor.next]) {
        const { status, body } = await get(`${phoneId(vip)}/traits?next=${encodeURIComponent(next)}`);
        expect({ status, body }).toEqual({ status: 400, body: { error: { code: 'invalid_request_error', message: expect.any(String) } } });
      }
    });
  });

  describe('/events', () => {
    it('returns the newest 10 by default, in the Profile API wire shape', async () => {
      const { status, body } = await get<ListBody<EventBody>>(`${phoneId(vip)}/events`);
      expect(status).toBe(200);
      expect(body.data).toHaveLength(10);
      expect(body.data).toEqual(vip.events.slice(0, 10));
      expect(body.data[0]).toEqual({
        type: 'track',
        event: expect.any(String),
        message_id: expect.any(String),
        source_id: expect.any(String),
        timestamp: expect.any(String),
        properties: expect.any(Object),
        context: expect.any(Object),
        external_ids: expect.arrayContaining([{ collection: 'users', type: 'user_id', id: vip.userId, encoding: 'none' }]),
        related: { users: vip.profileId },
      });
      expect(body.cursor).toMatchObject({
        url: `/v1/spaces/${sandbox.credentials.spaceId}/collections/users/profiles/${vip.profileId}/events`,
        has_more: true,
      });
    });

    it('pages 250 events at limit 100 in 3 pages, newest first, none twice', async () => {
      const all = await pages<ListBody<EventBody>>(`${phoneId(long)}/events?limit=100`);
      expect(all.map((p) => p.data.length)).toEqual([100, 100, 50]);
      const ids = all.flatMap((p) => p.data.map((e) => e.message_id));
      expect(ids).toEqual(long.events.map((e) => e.message_id));
    });

    it('sorts ascending with sort=asc', async () => {
      const { body } = await get<ListBody<EventBody>>(`${phoneId(vip)}/events?sort=asc&limit=5`);
      expect(body.data.map((e) => e.message_id)).toEqual(
        [...vip.events]
          .reverse()
          .slice(0, 5)
          .map((e) => e.message_id),
      );
    });

    it('filters by start/end and by include/exclude', async () => {
      const start = new Date(Date.parse(vip.events[0].timestamp) - 3_600_000).toISOString();
      const { body } = await get<ListBody<EventBody>>(`${phoneId(vip)}/events?start=${start}&limit=100`);
      expect(body.data.length).toBeGreaterThan(0);
      expect(body.data.every((e) => e.timestamp >= start)).toBe(true);
      expect(body.data).toHaveLength(vip.events.filter((e) => e.timestamp >= start).length);

      const end = vip.events[5].timestamp;
      const upTo = await get<ListBody<EventBody>>(`${phoneId(vip)}/events?end=${end}&limit=100`);
      expect(upTo.body.data[0].timestamp).toBe(end);

      const orders = await get<ListBody<EventBody>>(`${phoneId(vip)}/events?include=${encodeURIComponent('Order Completed,Checkout Started')}&limit=100`);
      expect(new Set(orders.body.data.map((e) => e.event))).toEqual(new Set(['Order Completed', 'Checkout Started']));
      const noPages = await get<ListBody<EventBody>>(`${phoneId(vip)}/events?exclude=${encodeURIComponent('Page Viewed')}&limit=100`);
      expect(noPages.body.data.some((e) => e.event === 'Page Viewed')).toBe(false);
      expect(noPages.body.data.length).toBe(vip.events.filter((e) => e.event !== 'Page Viewed').length);
    });

    it('returns page events with type page, event Page Viewed and a name', async () => {
      const anonymous = sandbox.data.byArchetype('anonymous_only');
      const { status, body } = await get<ListBody<EventBody>>(`anonymous_id:${anonymous.anonymousIds[0]}/events`);
      expect(status).toBe(200);
      expect(body.data.length).toBeGreaterThan(0);
      for (const event of body.data) expect(event).toMatchObject({ type: 'page', event: 'Page Viewed', properties: { name: expect.any(String) } });
    });

    it('keeps paging stable when an event arrives between pages', async () => {
      const customer = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.userId && c.events.length > 12) as SandboxCustomer;
      const id = `user_id:${encodeURIComponent(customer.userId as string)}`;
      const before = customer.events.map((e) => e.message_id);
      const first = await get<ListBody<EventBody>>(`${id}/events`);
      sandbox.data.addEvent(customer, { event: 'Support Ticket Opened' });
      const second = await get<ListBody<EventBody>>(`${id}/events?next=${encodeURIComponent(first.body.cursor.next)}`);
      expect([...first.body.data, ...second.body.data].map((e) => e.message_id)).toEqual(before.slice(0, 20));
    });

    it('answers 400 validation_error for bad limit, sort and dates', async () => {
      for (const query of ['limit=101', 'limit=0', 'sort=newest', 'start=yesterday', 'end=2026-13-45']) {
        const { status, body } = await get(`${phoneId(vip)}/events?${query}`);
        expect({ query, status, code: (body as { error: { code: string } }).error.code }).toEqual({ query, status: 400, code: 'validation_error' });
      }
    });
  });

  describe('/external_ids, /metadata, /links', () => {
    it('lists external ids with paging', async () => {
      const all = await pages<ListBody>(`${phoneId(long)}/external_ids`);
      expect(all.map((p) => p.data.length)).toEqual([10, 5]);
      const ids = all.flatMap((p) => p.data);
      expect(ids[0]).toEqual({
        source_id: expect.any(String),
        collection: 'users',
        id: long.userId,
        type: 'user_id',
        created_at: expect.any(String),
        encoding: 'none',
        first_message_id: expect.any(String),
      });
      expect(ids.map((i) => i.type)).toEqual(['user_id', 'email', 'phone', ...long.anonymousIds.map(() => 'anonymous_id')]);
      expect(ids.find((i) => i.type === 'phone')?.id).toBe(long.phone);
      const byTwo = await pages<ListBody>(`${phoneId(long)}/external_ids?limit=2`);
      expect(byTwo.flatMap((p) => p.data)).toEqual(ids);
    });

    it('answers 400 validation_error for a limit outside 1..100', async () => {
      for (const limit of ['0', '101']) {
        const { status, body } = await get(`${phoneId(long)}/external_ids?limit=${limit}`);
        expect({ limit, status, code: (body as { error: { code: string } }).error.code }).toEqual({ limit, status: 400, code: 'validation_error' });
      }
    });

    it('returns the metadata of a profile', async () => {
      const { status, body } = await get(`${phoneId(vip)}/metadata`);
      expect(status).toBe(200);
      expect(body).toEqual({
        metadata: {
          created_at: vip.createdAt,
          updated_at: vip.events[0].timestamp,
          expires_at: null,
          first_message_id: vip.events[vip.events.length - 1].message_id,
          first_source_id: expect.any(String),
          last_message_id: vip.events[0].message_id,
          last_source_id: expect.any(String),
        },
      });
    });

    it('lists the linked accounts in the documented shape, and none for a customer without', async () => {
      const [northwind, contoso] = sandbox.data.accounts;
      const link = (groupId: string) => ({
        to_collection: 'accounts',
        external_ids: [
          { id: groupId, type: 'group_id', source_id: expect.any(String), collection: 'accounts', created_at: expect.any(String), encoding: 'none' },
        ],
      });
      expect(await get(`${phoneId(vip)}/links`)).toMatchObject({ status: 200, body: { data: [link(northwind.groupId)] } });
      expect((await get(`${phoneId(long)}/links`)).body).toEqual({ data: [link(contoso.groupId), link(northwind.groupId)] });
      expect((await get(`${phoneId(long)}/links?limit=1`)).body).toEqual({ data: [link(contoso.groupId)] });
      const regular = sandbox.data.customers.find((c) => c.archetype === 'regular' && c.phone && c.accounts.length === 0) as SandboxCustomer;
      expect(await get(`${phoneId(regular)}/links`)).toMatchObject({ status: 200, body: { data: [] } });
      expect((await get(`${phoneId(vip)}/links?limit=21`)).status).toBe(400);
    });
  });

  describe('accounts', () => {
    const account = (id: string, query = '') =>
      fetch(`${sandbox.segmentUrl}/v1/spaces/${sandbox.credentials.spaceId}/collections/accounts/profiles/${id}/traits${query}`, {
        headers: { authorization: basic(sandbox.credentials.accessToken) },
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }));

    it("serves an account's traits by group_id, verbose too, and 404 for anything else", async () => {
      const [northwind] = sandbox.data.accounts;
      const plain = await account(`group_id:${encodeURIComponent(northwind.groupId)}`, '?limit=100');
      expect(plain).toMatchObject({ status: 200, body: { traits: northwind.traits, cursor: { has_more: false, next: '' } } });
      const verbose = await account(`group_id:${encodeURIComponent(northwind.groupId)}`, '?include=tier&verbose=true');
      expect(verbose.body.traits).toEqual({ tier: { value: 'enterprise', source_id: expect.any(String), updated_at: northwind.createdAt } });
      for (const id of ['group_id:nobody', encodeURIComponent(northwind.groupId), `user_id:${encodeURIComponent(northwind.groupId)}`]) {
        expect(await account(id)).toEqual({ status: 404, body: { error: { code: 'not_found', message: expect.any(String) } } });
      }
    });
  });
});
