import fc from 'fast-check';
import WebSocket from 'ws';
import { MAX_SUBSCRIBES_PER_MINUTE, MAX_SUBSCRIPTIONS_PER_CONNECTION } from '../src/live/subscriptions';
import { startSandbox } from '../src/sandbox/sandbox';
import { startHarness, type Harness } from './support/harness';

/**
 * graphql-ws gets what GraphQL over HTTP gets: a login that ends with its token, the same size and
 * complexity limits, a cap on subscriptions and subscribe messages per connection, a socket closed
 * (44xx) when its credentials fail or its messages are not the protocol, and no IAM call per
 * connectionInit carried in a subscribe. Whatever arrives, the server stays up.
 */

const CHANGES = 'subscription($id: ID!) { customerContextChanged(profileId: $id) { profileId parts } }';

interface Raw {
  ws: WebSocket;
  messages: Array<{ type?: string; id?: string; payload?: unknown }>;
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  /** The first message (received so far or later) that `accept` takes, or the close if it comes first. */
  next(accept: (message: Raw['messages'][number]) => boolean): Promise<Raw['messages'][number] | { closed: number }>;
}

async function raw(h: Harness): Promise<Raw> {
  const ws = new WebSocket(`${h.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
  const messages: Raw['messages'] = [];
  const waiting = new Set<() => void>();
  let closeCode: number | null = null;
  ws.on('message', (data) => {
    try {
      messages.push(JSON.parse((data as Buffer).toString()) as Raw['messages'][number]);
    } catch {
      messages.push({ type: 'unparseable' });
    }
    waiting.forEach((wake) => wake());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      closeCode = code;
      waiting.forEach((wake) => wake());
      resolve({ code, reason: reason.toString() });
    }),
  );
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code) => reject(new Error(`closed before open: ${code}`)));
  });
  return {
    ws,
    messages,
    closed,
    send: (message) => ws.readyState === WebSocket.OPEN && ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    next: (accept) =>
      new Promise((resolve) => {
        const check = () => {
          const found = messages.find(accept);
          if (found) return (resolve(found), true);
          if (closeCode !== null) return (resolve({ closed: closeCode }), true);
          return false;
        };
        if (check()) return;
        const wake = () => check() && waiting.delete(wake);
        waiting.add(wake);
      }),
  };
}

describe('graphql-ws limits (e2e)', () => {
  let h: Harness;
  let profileId: string;
  const validations = () => h.sandbox.calls.count({ service: 'twilio', route: 'token_validate' });

  beforeAll(async () => {
    h = await startHarness({ env: { GRAPHQL_MAX_QUERY_BYTES: '2048', GRAPHQL_MAX_COMPLEXITY: '50' } });
    profileId = h.sandbox.data.byArchetype('vip').profileId!;
  });
  afterAll(() => h.close());

  const connected = async (token = h.sandbox.credentials.agentToken) => {
    const socket = await raw(h);
    socket.send({ type: 'connection_init', payload: { token } });
    expect(await socket.next((m) => m.type === 'connection_ack')).toMatchObject({ type: 'connection_ack' });
    return socket;
  };

  it('closes a socket whose token is refused with 4403', async () => {
    const socket = await raw(h);
    socket.send({ type: 'connection_init', payload: { token: 'forged.e30.sig' } });
    expect((await socket.closed).code).toBe(4403);
  });

  it('closes a socket that sends complete before it is acknowledged with 4401', async () => {
    const socket = await raw(h);
    socket.send({ type: 'complete', id: '' });
    expect(await socket.closed).toEqual({ code: 4401, reason: 'Unauthorized' });
  });

  it('closes the socket with 4403 when its token expires', async () => {
    const token = h.sandbox.issueToken({ identity: h.sandbox.data.agents[0].identity, roles: ['supervisor'], expiresInSeconds: 2 });
    const socket = await connected(token);
    socket.send({ id: '1', type: 'subscribe', payload: { query: CHANGES, variables: { id: profileId } } });
    expect(await socket.closed).toEqual({ code: 4403, reason: 'Token expired' });
  });

  it('refuses a subscription larger or more complex than an HTTP query may be', async () => {
    const socket = await connected();
    const padded = `${CHANGES} ${'#'.repeat(3000)}`;
    socket.send({ id: 'big', type: 'subscribe', payload: { query: padded, variables: { id: profileId } } });
    expect(await socket.next((m) => m.id === 'big')).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'QUERY_TOO_LARGE' } }] });
    const complex = `subscription($id: ID!) { customerContextChanged(profileId: $id) { ${Array.from({ length: 60 }, (_, i) => `a${i}: profileId`).join(' ')} } }`;
    socket.send({ id: 'complex', type: 'subscribe', payload: { query: complex, variables: { id: profileId } } });
    expect(await socket.next((m) => m.id === 'complex')).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'QUERY_TOO_COMPLEX' } }] });
    socket.ws.close();
  });

  it('refuses an invalid subscription with the code an HTTP query gets', async () => {
    const socket = await connected();
    socket.send({ id: 'invalid', type: 'subscribe', payload: { query: 'subscription { customerContextChanged(profileId: "x") { nope } }' } });
    expect(await socket.next((m) => m.id === 'invalid')).toMatchObject({ type: 'error', payload: [{ extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
    socket.ws.close();
  });

  it(`holds at most ${MAX_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`, async () => {
    const socket = await connected();
    for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_CONNECTION + 1; i++)
      socket.send({ id: `s${i}`, type: 'subscribe', payload: { query: CHANGES, variables: { id: profileId } } });
    const refused = await socket.next((m) => m.type === 'error');
    expect(refused).toMatchObject({ id: `s${MAX_SUBSCRIPTIONS_PER_CONNECTION}`, payload: [{ extensions: { code: 'RATE_LIMITED' } }] });
    socket.ws.close();
  });

  it('closes a socket that floods subscribe messages with 4429', async () => {
    const socket = await connected();
    for (let i = 0; i < MAX_SUBSCRIBES_PER_MINUTE + 5; i++) {
      socket.send({ id: `f${i}`, type: 'subscribe', payload: { query: CHANGES, variables: { id: profileId } } });
      socket.send({ id: `f${i}`, type: 'complete' });
    }
    expect((await socket.closed).code).toBe(4429);
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
  });

  it('asks IAM nothing for a connectionInit carried in a subscribe', async () => {
    const other = await startSandbox({ quiet: true, customers: 6, seed: 11 });
    try {
      const socket = await connected();
      const before = validations();
      for (let i = 0; i < 5; i++) {
        const token = other.issueToken({ identity: other.data.agents[0].identity });
        socket.send({
          id: `x${i}`,
          type: 'subscribe',
          payload: { query: CHANGES, variables: { id: profileId } },
          extensions: [{ type: 'connectionInit', payload: { token } }],
        });
      }
      socket.send({ type: 'ping' });
      await socket.next((m) => m.type === 'pong');
      expect(validations()).toBe(before);
      socket.ws.close();
    } finally {
      await other.close();
    }
  });

  describe('hostile graphql-ws messages', () => {
    const hostileQuery = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.constantFrom(
        'subscription { __schema { types { name } } }',
        '{ customerContext(lookup: {}) { profileId } }',
        `subscription { ${'a { '.repeat(200)}${'}'.repeat(200)} }`,
        'subscription($id: ID!) { customerContextChanged(profileId: $id) { parts } }',
      ),
      fc.integer({ min: 3000, max: 200_000 }).map((n) => `subscription { x${'y'.repeat(n)} }`),
    );
    const message = fc.oneof(
      fc.jsonValue().map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 100 }),
      fc.record(
        {
          type: fc.oneof(
            fc.constantFrom('connection_init', 'subscribe', 'complete', 'ping', 'pong', 'next', 'error', 'connection_terminate', 'start'),
            fc.string({ maxLength: 20 }),
          ),
          id: fc.oneof(fc.string({ maxLength: 10 }), fc.integer(), fc.constant(null)),
          payload: fc.oneof(
            fc.record({ query: hostileQuery, variables: fc.oneof(fc.jsonValue(), fc.constant({ id: 'use_x' })) }, { requiredKeys: [] }),
            fc.record({ token: fc.oneof(fc.string({ maxLength: 50 }), fc.constant('forged.e30.sig')) }),
            fc.jsonValue(),
          ),
          extensions: fc.oneof(fc.constant(undefined), fc.array(fc.record({ type: fc.constant('connectionInit'), payload: fc.jsonValue() }), { maxLength: 3 })),
        },
        { requiredKeys: ['type'] },
      ),
    );

    it('never crashes the server: a socket either still answers a ping or is closed with 44xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), fc.array(message, { maxLength: 8 }), async (login, messages) => {
          const socket = await raw(h);
          if (login) socket.send({ type: 'connection_init', payload: { token: h.sandbox.credentials.agentToken } });
          for (const m of messages) socket.send(m);
          socket.send({ type: 'ping' });
          const outcome = await socket.next((m) => m.type === 'pong');
          if ('closed' in outcome) expect([outcome.closed, outcome.closed >= 4400 && outcome.closed < 4500]).toEqual([outcome.closed, true]);
          socket.ws.terminate();
        }),
        { numRuns: 60 },
      );
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    });

    it('bounds what a flood can make the server hold: the socket is closed at the subscribe cap', async () => {
      const socket = await connected();
      for (let i = 0; i < 1_000; i++) socket.send({ id: `m${i}`, type: 'subscribe', payload: { query: CHANGES, variables: { id: profileId } } });
      expect((await socket.closed).code).toBe(4429);
      expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    });
  });
});
