import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import websocket from '@fastify/websocket';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { AppConfig } from './config/config';
import { RequestLogLines, requestId, rootLogger } from './common/logging';
import { clientErrorHandler, frameworkErrors, registerHttpSecurity } from './security/http-hygiene';

const BODY_LIMIT_BYTES = 1024 * 1024;
/** Longer than Fastify's 72 s keep-alive, so only sockets idle past any keep-alive are cut. */
const CONNECTION_TIMEOUT_MS = 120_000;

/** Builds the application (not listening yet): used by `main`, the tests and the benchmarks. */
export async function createApp(config: AppConfig): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT_BYTES,
    return503OnClosing: true,
    // A client must send its whole request within this (slow-loris); answers are bounded by the upstream timeouts.
    requestTimeout: config.http.requestTimeoutMs,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    trustProxy: config.http.trustProxy,
    // A "__proto__" or "constructor.prototype" key in a JSON body is dropped, not refused with a 400:
    // Segment does not retry a 4xx, so refusing would lose the rest of a customer's event for good.
    onProtoPoisoning: 'remove',
    onConstructorPoisoning: 'remove',
    clientErrorHandler,
    frameworkErrors,
    // Each request logs through a child of the application's logger that carries its id; the
    // request pipeline writes the one line per answered request.
    loggerInstance: rootLogger(config),
    genReqId: requestId,
    logController: new RequestLogLines(),
  });
  // Its shutdown hook runs first and leaves WebSockets alone: they get the going-away frame.
  closeConnectionsAtShutdown(adapter.getInstance(), config.http.shutdownGraceMs);
  // The WebSocket server at the root (Mercurius uses it when it finds it, instead of its own
  // encapsulated one), so the request pipeline can screen each socket before Mercurius reads it.
  await adapter.getInstance().register(websocket, { options: { maxPayload: BODY_LIMIT_BYTES }, preClose: goingAway });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { bufferLogs: true, abortOnError: false });
  app.useLogger(app.get(Logger));
  await registerHttpSecurity(app, config);
  app.enableShutdownHooks();
  return app;
}

/** How long a socket has to answer the close frame at shutdown before it is dropped. */
const CLOSE_GRACE_MS = 1_000;

/**
 * At shutdown every socket is told the server is going away (1001). One whose peer never answers
 * the close frame (a tab gone, a network lost) would hold the HTTP server open for ws's own 30 s
 * close timeout; it is dropped after CLOSE_GRACE_MS instead.
 */
function goingAway(this: FastifyInstance, done: () => void): void {
  const server = this.websocketServer;
  for (const client of server.clients) client.close(1001, 'server shutting down');
  if (server.clients.size > 0) {
    setTimeout(() => {
      for (const client of server.clients) client.terminate();
    }, CLOSE_GRACE_MS).unref();
  }
  server.close();
  done();
}

/**
 * A stopped HTTP server waits for every open connection to end, and Node closes only those idle
 * between two requests for it. Two kinds would hold the shutdown for as long as their client
 * likes, and with it the tracking flush that follows: a connection opened ahead of need that has
 * not sent a request (browsers preconnect), which Node never counts idle, and a keep-alive
 * connection whose request was in flight, idle only once answered (then kept for Fastify's 72 s
 * keep-alive, or more). So at shutdown the first are closed at once; each answer in flight is
 * made the last of its connection, which closes once its last byte is out (never cut while the
 * answer is still being sent, and the client knows not to send another); and whatever is still
 * open after `graceMs` (an answer still being computed, a request still arriving) is cut.
 * WebSockets are `goingAway`'s.
 */
function closeConnectionsAtShutdown(fastify: FastifyInstance, graceMs: number): void {
  const server = fastify.server;
  const unused = new Set<Socket>();
  const answering = new Set<ServerResponse>();
  let stopping = false;
  server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  // A request's headers have arrived (or a WebSocket's upgrade): the connection is in use.
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    unused.delete(request.socket);
    // Once stopping, Fastify answers with `Connection: close` itself.
    if (stopping) return;
    answering.add(response);
    response.once('close', () => answering.delete(response));
  });
  server.on('upgrade', (request: IncomingMessage) => unused.delete(request.socket));
  fastify.addHook('preClose', (done) => {
    stopping = true;
    for (const socket of unused) socket.destroy();
    for (const response of answering) {
      if (!response.headersSent) response.setHeader('connection', 'close');
      else {
        // Its headers promised keep-alive: end the connection once the answer is out (a socket
        // ends after what it was given to send).
        const socket = response.socket;
        if (response.writableEnded) socket?.end();
        else response.once('finish', () => socket?.end());
      }
    }
    const cut = setTimeout(() => server.closeAllConnections(), graceMs).unref();
    server.once('close', () => clearTimeout(cut));
    done();
  });
}
