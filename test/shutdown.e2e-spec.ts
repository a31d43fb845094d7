import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startHarness, type Harness } from './support/harness';
import { eventually } from './support/twilio-callers';

/**
 * Stopping never waits on a client: a connection that sent nothing, or that keeps alive after its
 * answer, would otherwise hold the HTTP server (and the tracking flush after it) open for as long
 * as the client likes. Every wait here ends on an event; a shutdown that hangs fails by the test's
 * timeout.
 */
const EXAMPLE_POLICY = join(__dirname, '..', 'config', 'access-policy.example.yaml');

describe('shutdown (e2e)', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    // Only after a failure is the instance still running: cut its connections so it can stop.
    h?.app.getHttpServer().closeAllConnections();
    await h?.close().catch(() => undefined);
    h = undefined;
  });

  const port = (harness: Harness) => Number(new URL(harness.url).port);
  const opened = async (harness: Harness): Promise<Socket> => {
    const socket = connect(port(harness), '127.0.0.1');
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return socket;
  };
  const closedByServer = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const received = (socket: Socket) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    return () => text;
  };
  /** Resolves once the server takes no new connection: its HTTP server is closing. */
  const refusingConnections = (harness: Harness) =>
    eventually(
      () =>
        opened(harness).then(
          (socket) => (socket.destroy(), false),
          () => true,
        ),
      (refused) => refused,
      10_000,
      'the server refusing new connections',
    );

  /**
   * Opens a connection and sends a GraphQL POST's headers and the first half of its body.
   * `Expect: 100-continue` makes the server say when it has read the headers (it answers
   * `100 Continue` just before handling the request): this resolves then, with what the server
   * sent so far, the connection's end, and `rest()` to send the rest of the body.
   */
  const halfSentQuery = async (harness: Harness, query = '{ __typename }') => {
    const socket = await opened(harness);
    const text = received(socket);
    const gone = closedByServer(socket);
    const body = JSON.stringify({ query });
    const half = Math.floor(body.length / 2);
    socket.write(
      [
        'POST /graphql HTTP/1.1',
        `Host: 127.0.0.1:${port(harness)}`,
        'Connection: keep-alive',
        'Content-Type: application/json',
        `Authorization: Bearer ${harness.sandbox.credentials.agentToken}`,
        `Content-Length: ${body.length}`,
        'Expect: 100-continue',
        '',
        body.slice(0, half),
      ].join('\r\n'),
    );
    await eventually(text, (seen) => seen.startsWith('HTTP/1.1 100 Continue'), 10_000, 'the server reading the headers');
    return { text, gone, rest: () => socket.write(body.slice(half)) };
  };

  /**
   * A query whose body arrives only once `harness` has begun to stop (its module hooks have run,
   * its server is closing), so all of it runs during the shutdown. Resolves once the shutdown is
   * done and the server has closed the connection, with the answer's head and its parsed body.
   */
  const askedWhileStopping = async (harness: Harness, query?: string) => {
    const { text, gone, rest } = await halfSentQuery(harness, query);
    const stopping = harness.close();
    await refusingConnections(harness);
    rest();
    await gone;
    await stopping;
    const answer = text().replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    const end = answer.indexOf('\r\n\r\n');
    return { head: answer.slice(0, end), body: JSON.parse(answer.slice(end + 4)) as { data: unknown } };
  };

  it('closes at once a connection that has sent no request (a browser preconnects them)', async () => {
    // A grace longer than the test: only closing the unused connection at once lets it stop.
    h = await startHarness({ env: { HTTP_SHUTDOWN_GRACE_MS: '600000' } });
    const socket = await opened(h);
    const gone = closedByServer(socket);
    await h.close();
    await gone;
    h = undefined;
  });

  it('answers a request in flight when the shutdown begins, then closes its keep-alive connection', async () => {
    h = await startHarness({ env: { HTTP_SHUTDOWN_GRACE_MS: '600000' } });
    const { head, body } = await askedWhileStopping(h);
    h = undefined;
    // The request was answered in full, saying it was the connection's last, before the connection was closed.
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(head).toMatch(/\r\nconnection: close\r\n/i);
    expect(body).toEqual({ data: { __typename: 'Query' } });
  });

  it('answers a customer read in flight at shutdown from Redis as before it: consent, cache and budget still there', async () => {
    // The example policy hides what the VIP's consent declines: read from Redis, the answer keeps
    // to that; with Redis gone the consent read fails and everything would be withheld.
    const env = { ACCESS_POLICY_FILE: EXAMPLE_POLICY, HTTP_SHUTDOWN_GRACE_MS: '600000' };
    h = await startHarness({ env });
    // The same data through another instance with keys of its own: after it, nothing of this
    // customer is cached for the instance under test.
    const reference = await startHarness({ env, sandbox: h.sandbox });
    const vip = h.sandbox.data.byArchetype('vip');
    const query = `{ customerContext(lookup: {userId: ${JSON.stringify(vip.userId)}}) { traits withheld { part path action consent } freshness { stale sources { source error } } } }`;
    let expected: unknown;
    try {
      expected = (await reference.gql(query)).data;
    } finally {
      await reference.close();
    }
    expect(JSON.stringify(expected)).toContain('preferred_store');

    const { head, body } = await askedWhileStopping(h, query);
    h = undefined;
    expect(head).toMatch(/^HTTP\/1\.1 200 /);
    expect(body.data).toEqual(expected);
  });

  it('cuts what is still open once HTTP_SHUTDOWN_GRACE_MS has passed', async () => {
    h = await startHarness({ env: { HTTP_SHUTDOWN_GRACE_MS: '200' } });
    const { text, gone } = await halfSentQuery(h);

    // The rest of the body never comes.
    await h.close();
    await gone;
    h = undefined;
    expect(text()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
  });

  it('tells an open live socket the server is going away (1001)', async () => {
    h = await startHarness({ env: { HTTP_SHUTDOWN_GRACE_MS: '600000' } });
    const socket = new WebSocket(`${h.url.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    const acknowledged = new Promise<void>((resolve) =>
      socket.on('message', (data: Buffer) => (JSON.parse(data.toString()) as { type: string }).type === 'connection_ack' && resolve()),
    );
    const closed = new Promise<number>((resolve) => socket.once('close', (code: number) => resolve(code)));
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { token: h.sandbox.credentials.agentToken } }));
    await acknowledged;

    await h.close();
    h = undefined;
    expect(await closed).toBe(1001);
  });

  // Shorter than ws's own 30 s wait for the peer's close frame: only dropping the socket passes.
  it('drops a live socket whose peer never answers the close frame', async () => {
    h = await startHarness({ env: { HTTP_SHUTDOWN_GRACE_MS: '600000' } });
    const socket = await opened(h);
    const text = received(socket);
    const gone = closedByServer(socket);
    socket.write(
      [
        'GET /graphql HTTP/1.1',
        `Host: 127.0.0.1:${port(h)}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Protocol: graphql-transport-ws',
        '',
        '',
      ].join('\r\n'),
    );
    await eventually(text, (seen) => seen.startsWith('HTTP/1.1 101 '), 10_000, 'the upgrade');

    // The socket reads what comes and never answers.
    await h.close();
    await gone;
    h = undefined;
  }, 20_000);
});
