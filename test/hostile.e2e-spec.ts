import fc from 'fast-check';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import Redis from 'ioredis';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { eventually } from './support/eventually';
import { startHarness, type Harness } from './support/harness';

/**
 * Generated garbage at every route and every GraphQL argument. Whatever arrives: only 2xx/4xx, the
 * documented error shape, no unhandled rejection, the server stays up, and a refused request adds
 * nothing to Redis. Run counts are fixed so the file stays well under a minute.
 */

// Each test runs a fixed number of generated cases: on a busy machine one may need more than
// jest's 30 s, and it still ends.
jest.setTimeout(120_000);

const RUNS = {
  graphqlBodies: 150,
  graphqlEnvelopes: 150,
  lookups: 200,
  paging: 150,
  graphqlGet: 100,
  publicRoutes: 150,
  authorization: 100,
  forgedWebhooks: 50,
  signedWebhooks: 50,
  replays: 20,
  rawSockets: 50,
};
const WEBHOOK_PROPERTIES = ['forgedWebhooks', 'signedWebhooks', 'replays'] as const;
const SEGMENT_SECRET = 'hostile-suite-secret';

interface Answer {
  status: number;
  text: string;
}

// ---- generators -------------------------------------------------------------------------------

const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const control = fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 20 });
const unicode = fc.string({ unit: 'grapheme', maxLength: 100 });
const binaryish = fc.string({ unit: 'binary', maxLength: 100 });
const huge = fc.integer({ min: 5_000, max: 200_000 }).chain((n) => fc.constantFrom('x', 'é', '\u0000', '"', '\\').map((c) => c.repeat(n)));
const deep = fc.integer({ min: 50, max: 3_000 }).chain((d) => fc.constantFrom(`${'['.repeat(d)}${']'.repeat(d)}`, `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`));
const text = fc.oneof(printable, control, unicode, binaryish, { arbitrary: huge, weight: 1 });
const phoneish = fc.oneof(
  fc.stringMatching(/^\+?[0-9 ()+.-]{0,40}$/),
  fc.constantFrom('+', '+1', '+0000000000000000000', 'whatsapp:', 'whatsapp:+', 'sms:+1555', 'messenger:', 'tel:+12015550100', '+1'.repeat(200)),
);
const emailish = fc.oneof(
  fc.emailAddress(),
  fc.emailAddress().map((e) => `${e}\u0000`),
  fc.constantFrom('@', '@@', 'a@', '@b.c', 'a@b', 'a@@b.c', 'A@B.C'.repeat(300), '"quoted"@example.com', 'ü@exämple.com'),
);
const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -1, 101, 2 ** 31, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 1e308));
const weird = fc.oneof(
  text,
  phoneish,
  emailish,
  number,
  fc.boolean(),
  fc.constant(null),
  fc.jsonValue({ maxDepth: 3 }),
  deep.map((d) => JSON.parse(d) as unknown),
);
const lookupField = fc.constantFrom('userId', 'email', 'phone', 'anonymousId', 'address', 'conversationSid', 'taskSid');
const lookup = fc.oneof(
  fc.dictionary(lookupField, fc.oneof(text, phoneish, emailish, fc.constantFrom('WT'.padEnd(34, '0'), 'CH'.padEnd(34, 'f'))), { maxKeys: 7 }),
  fc.dictionary(fc.oneof(lookupField, printable), weird, { maxKeys: 5 }),
  weird,
);
const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-16',
  'application/graphql',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '*/*',
  '',
);
const body = fc.oneof(
  text,
  deep,
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString('latin1')),
);
const formParams = fc.dictionary(
  fc.oneof(printable, fc.constantFrom('EventType', 'TaskSid', 'TaskAttributes', 'ConversationSid', 'Body', 'AccountSid')),
  fc.oneof(printable, unicode),
  {
    maxKeys: 12,
  },
);

// ---- the suite --------------------------------------------------------------------------------

describe('hostile input (e2e)', () => {
  let h: Harness;
  let redis: Redis;
  let fastify: FastifyInstance;
  let executed = 0;
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection);
    h = await startHarness({
      env: { SEGMENT_WEBHOOK_SECRET: SEGMENT_SECRET, RATE_LIMIT_WORKER_MAX: '1000000', RATE_LIMIT_IP_MAX: '1000000' },
    });
    fastify = h.app.getHttpAdapter().getInstance();
    redis = new Redis(process.env.TEST_REDIS_URL as string);
    // An agent's session starts with one good request, which caches their validated token.
    expect((await h.gql('{ __typename }')).status).toBe(200);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onRejection);
    await redis.quit();
    await h.close();
  });

  /** The harness's keys, less the rate limiter's counters (counting refused requests is their job). */
  async function keys(): Promise<Set<string>> {
    const prefix = h.config.redis.keyPrefix;
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of batch) if (!key.startsWith(`${prefix}rl:`)) found.add(key);
    } while (cursor !== '0');
    return found;
  }

  /** A fill's single-flight lock (`…lock:{key}`), not the answer it publishes (`…lock:{key}:<token>`). */
  const isHeldLock = (key: string) => key.includes('lock:{') && key.endsWith('}');

  async function send(method: string, path: string, headers: Record<string, string> = {}, payload?: string): Promise<Answer> {
    const response = await fetch(`${h.url}${path}`, { method, headers, body: method === 'GET' || method === 'HEAD' ? undefined : payload, redirect: 'manual' });
    return { status: response.status, text: await response.text() };
  }

  /**
   * Keys as they are once an accepted request's background work (cache fills, ingest) is done:
   * no upstream call in flight, no fill holding its single-flight lock, and no key changed between
   * two reads in a row. An answer can leave before all its fetches end (GraphQL answers once an
   * error nulls their parent), and a key set that held still while a fetch was in flight would let
   * the fetch's keys land during the next, refused request. The lock covers what the upstream
   * calls do not: a fill still storing its answer (and publishing it to its followers, a key of
   * its own) after the upstream has answered, which on a loaded machine outlasts two reads.
   * Work that never settles fails here, rather than in the next refusal's check.
   */
  let settled = true;
  async function settledKeys(): Promise<Set<string>> {
    if (settled) return keys();
    let previous = await keys();
    let quietBefore = false;
    const { current } = await eventually(
      async () => {
        const current = await keys();
        const quiet = h.sandbox.calls.count({ status: 0 }) === 0 && ![...current].some(isHeldLock);
        const still = quiet && quietBefore && current.size === previous.size && [...current].every((key) => previous.has(key));
        quietBefore = quiet;
        previous = current;
        return { still, current };
      },
      ({ still }) => still,
      10_000,
      "the accepted request's background work settled",
    );
    settled = true;
    return current;
  }

  /** Sends, checks the answer, and for a refusal that Redis gained no key. */
  async function hostile(kind: 'graphql' | 'rest', request: () => Promise<Answer>): Promise<Answer> {
    executed++;
    const before = await settledKeys();
    const answer = await request();
    expectDocumented(kind, answer);
    if (answer.status < 400) settled = false;
    else expect([...(await keys())].filter((key) => !before.has(key))).toEqual([]);
    return answer;
  }

  function expectDocumented(kind: 'graphql' | 'rest', answer: Answer): void {
    const ok = (answer.status >= 200 && answer.status < 300) || (answer.status >= 400 && answer.status < 500);
    if (!ok) throw new Error(`status ${answer.status}: ${answer.text.slice(0, 500)}`);
    expect(answer.text).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
    if (answer.status < 400 && !answer.text.startsWith('{')) return; // Prometheus text, the panel's files
    if (answer.text === '') return;
    const parsed = JSON.parse(answer.text) as { error?: { code?: unknown; message?: unknown }; errors?: Array<{ extensions?: { code?: unknown } }> };
    const codes = parsed.errors?.map((e) => e.extensions?.code) ?? [];
    expect(codes).not.toContain('INTERNAL');
    if (answer.status < 400) return;
    if (kind === 'graphql' && parsed.errors) {
      expect(codes.length).toBeGreaterThan(0);
      for (const code of codes) expect(typeof code).toBe('string');
    } else {
      expect(parsed).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
    }
  }

  const token = () => ({ authorization: `Bearer ${h.sandbox.credentials.agentToken}` });
  const gqlPost = (payload: unknown, headers: Record<string, string> = token()) =>
    hostile('graphql', () => send('POST', '/graphql', { 'content-type': 'application/json', ...headers }, JSON.stringify(payload)));

  // ---- /graphql ----------------------------------------------------------------------------

  it('survives any body and content type on POST /graphql', async () => {
    await fc.assert(
      fc.asyncProperty(body, contentType, fc.boolean(), async (payload, type, withToken) => {
        await hostile('graphql', () => send('POST', '/graphql', { ...(type ? { 'content-type': type } : {}), ...(withToken ? token() : {}) }, payload));
      }),
      { numRuns: RUNS.graphqlBodies },
    );
  });

  it('survives any query text, variables and operation name', async () => {
    // Deeper than any real field goes: refused for depth before anything is looked up.
    const selection = fc
      .integer({ min: 1, max: 400 })
      .map((d) => `{ customerContext(lookup: {userId: "u"}) { conversations { edges { node { ${'a { '.repeat(d)}b${' }'.repeat(d)} } } } } }`);
    const query = fc.oneof(
      text,
      selection,
      deep,
      fc.constantFrom(
        '{ __schema { types { name } } }',
        'mutation { refreshCustomerContext(lookup: {}) { profileId } }',
        'subscription { x }',
        '{ a } { b }',
        'query A { __typename } query A { __typename }',
        '#',
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(query, weird),
        fc.oneof(fc.constant(undefined), weird),
        fc.oneof(fc.constant(undefined), weird),
        fc.boolean(),
        async (q, variables, operationName, withToken) => {
          await gqlPost({ query: q, variables, operationName }, withToken ? token() : {});
        },
      ),
      { numRuns: RUNS.graphqlEnvelopes },
    );
  });

  it('survives any lookup, as variables and inline', async () => {
    const byVariables =
      'query($lookup: CustomerLookupInput!) { customerContext(lookup: $lookup) { profileId traits externalIds { type id } routing { attributes } } }';
    await fc.assert(
      fc.asyncProperty(lookup, fc.boolean(), fc.boolean(), async (value, inline, refresh) => {
        const operation = refresh ? 'mutation' : 'query';
        const field = refresh ? 'refreshCustomerContext' : 'customerContext';
        if (!inline) {
          await gqlPost({ query: byVariables.replace('query', operation).replace('customerContext', field), variables: { lookup: value } });
          return;
        }
        const literal =
          value && typeof value === 'object' && !Array.isArray(value)
            ? `{ ${Object.entries(value)
                .map(([k, v]) => `${/^[_A-Za-z][_0-9A-Za-z]*$/.test(k) ? k : 'userId'}: ${JSON.stringify(v) ?? 'null'}`)
                .join(', ')} }`
            : (JSON.stringify(value) ?? 'null');
        await gqlPost({ query: `${operation} { ${field}(lookup: ${literal}) { profileId traits } }` });
      }),
      { numRuns: RUNS.lookups },
    );
  });

  it('survives any first, after and last', async () => {
    const paged = `query($first: Int, $after: String, $last: Int, $cf: Int, $jf: Int, $lookup: CustomerLookupInput!) {
      customerContext(lookup: $lookup) {
        events(first: $first, after: $after) { totalCount edges { cursor } }
        conversations(first: $cf, after: $after) { edges { node { messages(last: $last) { sid } } } }
        journey(first: $jf) { kind }
      } }`;
    const customer = () => {
      const vip = h.sandbox.data.byArchetype('vip');
      return { userId: vip.userId };
    };
    const pageValue = fc.oneof(number, fc.constant(null), text, fc.base64String({ maxLength: 40 }), weird);
    await fc.assert(
      fc.asyncProperty(
        fc.record({ first: pageValue, after: pageValue, last: pageValue, cf: pageValue, jf: pageValue }, { requiredKeys: [] }),
        fc.boolean(),
        async (args, inline) => {
          if (!inline) {
            await gqlPost({ query: paged, variables: { ...args, lookup: customer() } });
            return;
          }
          const literal = (v: unknown) => JSON.stringify(v) ?? 'null';
          await gqlPost({
            query: `{ customerContext(lookup: {userId: ${JSON.stringify(customer().userId)}}) { events(first: ${literal(args.first)}, after: ${literal(args.after)}) { totalCount } conversations(first: ${literal(args.cf)}) { edges { node { messages(last: ${literal(args.last)}) { sid } } } } journey(first: ${literal(args.jf)}) { kind } } }`,
          });
        },
      ),
      { numRuns: RUNS.paging },
    );
  });

  it('survives any GET /graphql query string', async () => {
    const param = fc.constantFrom('query', 'variables', 'operationName', 'extensions', 'persisted', 'x');
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(param, fc.oneof(text, deep, fc.constantFrom('{ __typename }', 'mutation { refreshCustomerContext(lookup: {userId: "u"}) { profileId } }'))),
          { maxLength: 5 },
        ),
        fc.boolean(),
        async (params, withToken) => {
          const search = params.map(([k, v]) => `${k}=${encodeURIComponent(v.slice(0, 4_000))}`).join('&');
          await hostile('graphql', () => send('GET', `/graphql?${search}`, withToken ? token() : {}));
        },
      ),
      { numRuns: RUNS.graphqlGet },
    );
  });

  it('refuses any Authorization and X-Flex-Token it did not issue, without asking Twilio for non-tokens', async () => {
    const header = fc.oneof(
      printable,
      printable.map((t) => `Bearer ${t}`),
      printable.map((t) => `Bearer ${t}.${t}.${t}`),
      fc.constantFrom('Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', 'Bearer e30.e30.e30'),
    );
    const before = h.sandbox.calls.count({ service: 'twilio', route: 'token_validate' });
    let plausible = 0;
    await fc.assert(
      fc.asyncProperty(header, fc.constantFrom('authorization', 'x-flex-token'), async (value, name) => {
        if (/^(Bearer )?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(value.trim())) plausible++;
        const answer = await gqlPost({ query: '{ __typename }' }, { [name]: value });
        expect(answer.status).toBe(401);
      }),
      { numRuns: RUNS.authorization },
    );
    expect(h.sandbox.calls.count({ service: 'twilio', route: 'token_validate' }) - before).toBeLessThanOrEqual(plausible);
  });

  // ---- public routes -----------------------------------------------------------------------

  it('survives anything sent to /healthz, /readyz, /metrics and the panel', async () => {
    // An unbuilt panel page answers 503 by design (npm run build:panel); its assets are always served or 404.
    const panelBuilt = (await fetch(`${h.url}/panel`)).status === 200;
    const asset = fc
      .oneof(printable, fc.constantFrom('..%2f..%2fpackage.json', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', 'index.html', '%00', 'a'.repeat(3000)))
      .map((name) => `/panel/assets/${name.includes('%') ? name : encodeURIComponent(name)}`);
    const path = fc.oneof(fc.constantFrom('/healthz', '/readyz', '/metrics', ...(panelBuilt ? ['/panel'] : [])), asset);
    const method = fc.constantFrom<HTTPMethods>('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');
    const suffix = fc.oneof(
      fc.constant(''),
      fc.constantFrom('/', '/..', '/%00', '/%2e%2e', '%', '%zz', '/%C0%AF', '?a=1', '?a=%', `?${'q'.repeat(4000)}=1`),
      printable.map((s) => `?${encodeURIComponent(s)}`),
    );
    await fc.assert(
      fc.asyncProperty(path, method, suffix, contentType, body, async (route, m, rest, type, payload) => {
        const answer = await hostile('rest', () => send(m, `${route}${rest}`, type ? { 'content-type': type } : {}, payload));
        // Prometheus text and the panel's files are not JSON; everything else that fails is.
        expect(answer.status < 400 || !answer.text || answer.text.startsWith('{')).toBe(true);
      }),
      { numRuns: RUNS.publicRoutes },
    );
  });

  // ---- webhooks ----------------------------------------------------------------------------

  interface Webhook {
    path: string;
    /** A request this route should accept: content type, body, and the headers that sign it. */
    signed(payload: { params?: Record<string, string>; json?: unknown }): { path: string; headers: Record<string, string>; body: string };
    wellFormed: fc.Arbitrary<{ params?: Record<string, string>; json?: unknown }>;
  }

  const sid = (prefix: string) => fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => `${prefix}${Buffer.from(b).toString('hex')}`);
  const twilioForm = (path: string, wellFormed: Webhook['wellFormed']): Webhook => ({
    path,
    wellFormed,
    signed: ({ params = {} }) => ({
      path,
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': getExpectedTwilioSignature(h.config.twilio.authToken, `${h.config.publicBaseUrl}${path}`, params),
      },
      body: new URLSearchParams(params).toString(),
    }),
  });
  const twilioJson = (path: string, wellFormed: Webhook['wellFormed']): Webhook => ({
    path,
    wellFormed,
    signed: ({ json }) => {
      const raw = JSON.stringify(json ?? {});
      const signedPath = `${path}?bodySHA256=${createHash('sha256').update(raw).digest('hex')}`;
      return {
        path: signedPath,
        headers: {
          'content-type': 'application/json',
          'x-twilio-signature': getExpectedTwilioSignature(h.config.twilio.authToken, `${h.config.publicBaseUrl}${signedPath}`, {}),
        },
        body: raw,
      };
    },
  });

  /** The webhook routes this build has (others are still being built); each with how to sign it. */
  function webhooks(): Webhook[] {
    const candidates: Webhook[] = [
      twilioForm(
        '/webhooks/taskrouter',
        fc.record({
          params: fc.record({
            EventType: fc.constantFrom('task.created', 'task.updated', 'reservation.created'),
            TaskSid: sid('WT'),
            TaskAttributes: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify({ from: '+12015550100', extra: v })),
            AccountSid: fc.constant(h.config.twilio.accountSid),
            Sid: sid('EV'),
          }),
        }),
      ),
      twilioForm(
        '/webhooks/conversations',
        fc.record({
          params: fc.record({
            EventType: fc.constantFrom('onMessageAdded', 'onConversationAdded', 'onConversationStateUpdated'),
            ConversationSid: sid('CH'),
            MessageSid: sid('IM'),
            Body: unicode,
            Author: phoneish,
          }),
        }),
      ),
      twilioJson(
        '/webhooks/intelligence',
        fc.record({ json: fc.record({ transcript_sid: sid('GT'), event_type: fc.constantFrom('voice_intelligence_transcript_available', 'other') }) }),
      ),
      twilioJson(
        '/webhooks/copilot',
        fc.record({
          json: fc.record({
            sid: sid('KQ'),
            event_type: fc.constantFrom('note_created', 'note_updated', 'note_deleted'),
            interaction_sid: sid('KD'),
            channel_sid: sid('UO'),
            summary: fc.option(unicode),
            generated_sentiment: fc.option(printable),
          }),
        }),
      ),
      twilioJson(
        '/routing/attributes',
        fc.record({ json: fc.record({ attributes: fc.record({ from: phoneish, channelType: fc.constantFrom('sms', 'whatsapp', 'voice') }) }) }),
      ),
      {
        path: '/webhooks/segment',
        wellFormed: fc.record({
          json: fc.record({
            type: fc.constantFrom('track', 'identify', 'page', 'alias'),
            messageId: printable,
            userId: printable,
            event: printable,
            traits: fc.dictionary(printable, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }),
          }),
        }),
        signed: ({ json }) => {
          const raw = JSON.stringify(json ?? {});
          return {
            path: '/webhooks/segment',
            headers: { 'content-type': 'application/json', 'x-signature': createHmac('sha1', SEGMENT_SECRET).update(raw).digest('hex') },
            body: raw,
          };
        },
      },
    ];
    return candidates.filter((w) => fastify?.hasRoute({ method: 'POST', url: w.path }));
  }

  it('finds the webhook routes this build serves', () => {
    expect(
      webhooks()
        .map((w) => w.path)
        .sort(),
    ).toEqual(['/routing/attributes', '/webhooks/conversations', '/webhooks/copilot', '/webhooks/intelligence', '/webhooks/segment', '/webhooks/taskrouter']);
  });

  it('refuses forged, truncated and misplaced signatures with 403 and changes nothing', async () => {
    for (const webhook of webhooks()) {
      await fc.assert(
        fc.asyncProperty(webhook.wellFormed, formParams, fc.integer({ min: 0, max: 5 }), printable, async (good, otherParams, forgery, junk) => {
          const genuine = webhook.signed(good);
          const name = 'x-twilio-signature' in genuine.headers ? 'x-twilio-signature' : 'x-signature';
          const headers: Record<string, string> = { ...genuine.headers };
          let sent = genuine.body;
          if (forgery === 0) delete headers[name];
          if (forgery === 1) headers[name] = headers[name].slice(0, -1 - (junk.length % 8));
          if (forgery === 2) headers[name] = junk;
          if (forgery === 3) headers[name] = randomBytes(20).toString(name === 'x-signature' ? 'hex' : 'base64');
          // The genuine signature on a body it does not cover: one more parameter, one more byte, another body.
          if (forgery === 4) sent = headers['content-type'].includes('json') ? `${genuine.body} ` : `${genuine.body}&Injected=1`;
          if (forgery === 5) sent = new URLSearchParams({ ...otherParams, Injected: '1' }).toString();
          const answer = await hostile('rest', () => send('POST', genuine.path, headers, sent));
          // Another body may not even parse as the route's content type: refused before the signature.
          // No signature at all may be a 401 (the Segment route says "missing", not "wrong"); a
          // blank one is no signature: HTTP drops a header value's surrounding whitespace.
          const expected = forgery === 5 && headers['content-type'].includes('json') ? [400, 403] : !headers[name]?.trim() ? [401, 403] : [403];
          expect([webhook.path, expected.includes(answer.status)]).toEqual([webhook.path, true]);
        }),
        { numRuns: RUNS.forgedWebhooks },
      );
    }
  });

  it('survives validly signed garbage and malformed bodies', async () => {
    for (const webhook of webhooks()) {
      const payload = fc.oneof(
        fc.record({ params: formParams }),
        fc.record({ json: fc.oneof(weird, fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 20 })) }),
        webhook.wellFormed,
      );
      await fc.assert(
        fc.asyncProperty(payload, fc.boolean(), async (value, breakBody) => {
          const request = webhook.signed(value);
          await hostile('rest', () =>
            send('POST', request.path, request.headers, breakBody ? request.body.slice(0, Math.floor(request.body.length / 2)) : request.body),
          );
        }),
        { numRuns: RUNS.signedWebhooks },
      );
    }
  });

  it('answers a replayed webhook without changing anything again', async () => {
    for (const webhook of webhooks()) {
      await fc.assert(
        fc.asyncProperty(webhook.wellFormed, async (value) => {
          const request = webhook.signed(value);
          await hostile('rest', () => send('POST', request.path, request.headers, request.body));
          // Whatever the first delivery did, in the background too, is done before the replay.
          const before = await settledKeys();
          const replay = await hostile('rest', () => send('POST', request.path, request.headers, request.body));
          expect(replay.status).toBeLessThan(500);
          expect([...(await keys())].filter((key) => !before.has(key))).toEqual([]);
          executed--; // the replay is part of this case, not a case of its own
        }),
        { numRuns: RUNS.replays },
      );
    }
  });

  // ---- below HTTP --------------------------------------------------------------------------

  it('answers raw garbage on the socket with a 4xx, or closes, and stays up', async () => {
    const port = new URL(h.url).port;
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 2_048 }).map((b) => Buffer.from(b)),
      fc
        .constantFrom(
          'GET / HTTP/1.1\r\n\r\n',
          'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"query"',
          'POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
          'POST /graphql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
          `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
          'GET /healthz HTTP/9.9\r\n\r\n',
          '\u0000\u0001\u0002\r\n\r\n',
        )
        .map((s) => Buffer.from(s, 'latin1')),
    );
    await fc.assert(
      fc.asyncProperty(garbage, async (bytes) => {
        executed++;
        const answer = await new Promise<string>((resolve) => {
          const socket = connect(Number(port), '127.0.0.1');
          let received = '';
          socket.setTimeout(500, () => socket.destroy());
          socket.on('data', (chunk) => (received += chunk.toString('latin1')));
          socket.on('error', () => undefined);
          socket.on('close', () => resolve(received));
          socket.end(bytes);
        });
        const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
        if (status) expect(Number(status) < 500).toBe(true);
      }),
      { numRuns: RUNS.rawSockets },
    );
  });

  it('is still up, left nothing unhandled, and ran every generated case', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    expect((await h.gql('{ __typename }')).status).toBe(200);
    expect(rejections).toEqual([]);
    const perWebhook = WEBHOOK_PROPERTIES.reduce((sum, name) => sum + RUNS[name], 0);
    const elsewhere = Object.entries(RUNS).reduce((sum, [name, runs]) => sum + (WEBHOOK_PROPERTIES.includes(name as never) ? 0 : runs), 0);
    expect(executed).toBe(elsewhere + webhooks().length * perWebhook);
  });
});
