import cors from '@fastify/cors';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { sendError } from '../common/error-handling';
import { mapError } from '../common/error-mapper';
import type { AppConfig } from '../config/config';

/**
 * The HTTP surface's own defences, on the root Fastify instance before the routes exist (so every
 * route gets them): the error shape for errors before a handler runs, CORS, security headers.
 * Rate limits are the request pipeline's admission step (pipeline/request-pipeline.ts).
 */

export async function registerHttpSecurity(app: NestFastifyApplication, config: AppConfig): Promise<void> {
  const fastify: FastifyInstance = app.getHttpAdapter().getInstance();
  // Nest hands Fastify its exception layer only after adding its routes, so their errors before
  // the handler (a body that does not parse, a rate limit) would get Fastify's default shape.
  // Routes of plugin scopes with their own shape (Mercurius: GraphQL errors) keep it.
  fastify.addHook('onRoute', function (this: FastifyInstance, route) {
    if (this === fastify && !route.errorHandler) route.errorHandler = (error, _request, reply) => sendError(reply, error);
  });

  await app.register(cors, {
    origin: config.http.corsOrigins,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'X-Flex-Token', 'Content-Type', 'X-Request-Id'],
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
    maxAge: 600,
    // An OPTIONS without the preflight headers gets an empty 204, not a plain-text 400.
    strictPreflight: false,
  });

  // helmet decides the security headers; none of ours depends on the request (no CSP nonce or
  // directive function: headersOf refuses those), so helmet is asked once, at start, and each
  // reply gets its answer.
  const securityHeaders = headersOf(helmet(securityHeadersOptions(config)));
  fastify.addHook('onRequest', (_request, reply, done) => {
    void reply.headers(securityHeaders);
    done();
  });
}

/**
 * helmet's options for this deployment, in one place: the service precomputes its headers from
 * them, and the security e2e compares those with helmet run per request on the same options.
 */
export function securityHeadersOptions(config: AppConfig): HelmetOptions {
  return {
    // The panel is shown in Flex's CRM container (an iframe): frame-ancestors names who may frame
    // it, which X-Frame-Options cannot. GraphiQL (GRAPHQL_IDE, development only) loads from a CDN.
    frameguard: false,
    contentSecurityPolicy: config.graphql.ide
      ? false
      : { directives: { frameAncestors: ["'self'", ...config.http.corsOrigins], upgradeInsecureRequests: null } },
  };
}

type HeaderMiddleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * The headers a Connect-style header middleware (helmet) sets, run at start against a request and
 * a response that only record. Its answer is then sent on every reply, so whatever could make it
 * differ per request is a setup error, refused here: an answer that is not synchronous, a look at
 * the request or at the response beyond setting and removing headers (a CSP nonce in
 * `res.locals`, a directive function of the request), or two runs that disagree.
 */
export function headersOf(middleware: HeaderMiddleware): Record<string, string> {
  const first = recordHeaders(middleware);
  if (!isDeepStrictEqual(recordHeaders(middleware), first)) {
    throw new Error('the security headers middleware answered two runs differently: its headers cannot be computed once');
  }
  return first;
}

function recordHeaders(middleware: HeaderMiddleware): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
      return this;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let outcome: { error: unknown } | undefined;
  middleware(onlyThese('request', {}), onlyThese('response', recorder), (error) => {
    outcome = { error };
  });
  if (!outcome) throw new Error('the security headers middleware did not answer synchronously');
  if (outcome.error) throw outcome.error instanceof Error ? outcome.error : new Error('the security headers middleware failed');
  return headers;
}

/** `allowed`, refusing to be read for anything else: what a header middleware reads there could differ per request. */
function onlyThese<T>(what: string, allowed: object): T {
  return new Proxy(allowed, {
    get(target, property) {
      if (Object.hasOwn(target, property)) return Reflect.get(target, property) as unknown;
      throw new Error(`the security headers middleware read the ${what}'s ${String(property)}: its headers cannot be computed once`);
    },
  }) as T;
}

/** Fastify's frameworkErrors: a URL the router cannot decode gets the documented shape too. */
export function frameworkErrors(error: Error, _request: FastifyRequest, reply: FastifyReply): void {
  sendError(reply, error);
}

/**
 * Fastify's clientErrorHandler: requests too broken to reach a route (bad HTTP, headers too large,
 * too slow) still get the documented `{ error: { code, message } }` body, mapped like any error.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Duplex): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, code, message, errorId } = mapError(error);
  const body = JSON.stringify({ error: { code, message, ...(errorId ? { errorId } : {}) } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}
