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
   * A GraphQL POST whose headers and first half of its body are sent at once; the caller sends
   * the rest. `Expect: 100-continue` makes the server say when it has read the headers: it
   * answers `100 Continue` just before handling the request.
   */
  const halfSentQuery = (harness: Harness, socket: Socket, query = '{ __typename }') => {
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
    return () => socket.write(body.slice(half));
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
    const socket = await opened(h);
    const text = received(socket);
    const gone = closedByServer(socket);
    const rest = halfSentQuery(h, socket);
    await eventually(text, (seen) => seen.startsWith('HTTP/1.1 100 Continue'), 10_000, 'the server reading the headers');

    const stopping = h.close();
    await refusingConnections(h);
    rest();
    await gone;
    await stopping;
    h = undefined;
    // The request was answered in full, saying it was the connection's last, before the connection was closed.
    const answer = text().replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.slice(0, answer.indexOf('\r\n\r\n'))).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toEqual({ data: { __typename: 'Query' } });
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

    const socket = await opened(h);
    const text = received(socket);
    const gone = closedByServer(socket);
    const rest = halfSentQuery(h, socket, query);
    await eventually(text, (seen) => seen.startsWith('HTTP/1.1 100 Continue'), 10_000, 'the server reading the headers');

    // The whole query runs after the shutdown began: its module hooks have run, the server is closing.
    const stopping = h.close();
    await refusingConnections(h);
    rest();
    await gone;
    await stopping;
    h = undefined;
    const answer = text().replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect((JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { data: unknown }).data).toEqual(expected);
  });

  it('cuts what is still open once HTTP_SHUTDOWN_GRACE_MS has passed', async () => {
    h = await startHarness({ env: { HTTP_SHUTDOWN_GRACE_MS: '200' } });
    const socket = await opened(h);
    const text = received(socket);
    const gone = closedByServer(socket);
    halfSentQuery(h, socket);
    await eventually(text, (seen) => seen.startsWith('HTTP/1.1 100 Continue'), 10_000, 'the server reading the headers');

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
