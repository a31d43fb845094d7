import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Params } from 'nestjs-pino';
import pino, { type Logger } from 'pino';
import type { AppConfig } from '../config/config';

const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * JSON logs (pino) with a request id on every line of a request. Paths are logged without their
 * query string (lookups put phone numbers and emails there); auth headers, tokens and signatures
 * are redacted.
 *
 * One pino logger serves both Nest (nestjs-pino, for lines outside a request) and Fastify (each
 * request's `request.log`, a child carrying its id). nestjs-pino's request middleware is not
 * mounted: it would keep the request's logger in AsyncLocalStorage, which turns on async_hooks for
 * every promise of every request. Code that logs for a request is handed `request.log` instead.
 */
const roots = new WeakMap<AppConfig, Logger>();
/**
 * Lines are written to stdout in batches of this many bytes, not one write per line (two lines per
 * request at info level); pino writes what is left when the process exits.
 */
const LOG_BUFFER_BYTES = 4096;

export function rootLogger(config: AppConfig): Logger {
  let logger = roots.get(config);
  if (!logger) {
    logger = pino(
      {
        level: config.logLevel,
        redact: {
          paths: [
            'req.headers.authorization',
            'req.headers["x-flex-token"]',
            'req.headers["x-twilio-signature"]',
            'req.headers["x-signature"]',
            'req.headers.cookie',
            '*.token',
            '*.authToken',
            '*.accessToken',
            '*.writeKey',
            '*.password',
            '*.traits',
            // An axios error from twilio-node carries the request, Basic credentials included.
            'err.config.headers.Authorization',
            'err.config.auth',
            'err.request',
          ],
          censor: '[redacted]',
        },
        serializers: {
          // A request line gives its path (requestLineOf); anything else logged as `req` has a url.
          req: (req: { id?: string; method?: string; url?: string; path?: string }) => ({
            id: req.id,
            method: req.method,
            path: req.path ?? (req.url ?? '').split('?')[0],
          }),
          res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
          err: pino.stdSerializers.err,
        },
      },
      pino.destination({ dest: 1, sync: false, minLength: LOG_BUFFER_BYTES }),
    );
    roots.set(config, logger);
  }
  return logger;
}

export function loggingParams(config: AppConfig): Params {
  // No routes: the logger without its AsyncLocalStorage middleware (see above).
  return { pinoHttp: { logger: rootLogger(config) }, forRoutes: [] };
}

/** Fastify's genReqId: the caller's X-Request-Id when it is a plain token, else a new one. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Another line carried this request's line (the audit line of its first read): Fastify writes none. */
    lineWritten?: boolean;
  }
}

/** What a request's line says besides its id: method, path without query string, status, time. */
export function requestLineOf(
  request: FastifyRequest,
  reply: FastifyReply,
): { req: { method: string; path: string }; res: { statusCode: number }; responseTime: number } {
  return {
    req: { method: request.method, path: request.url.split('?')[0] },
    res: { statusCode: reply.statusCode },
    responseTime: Math.round(reply.elapsedTime),
  };
}

/** The level of a request's line: by status. */
export function requestLineLevel(error: Error | null | undefined, statusCode: number): 'error' | 'warn' | 'info' {
  return error || statusCode >= 500 ? 'error' : statusCode >= 400 ? 'warn' : 'info';
}

/**
 * Fastify's own request lines (its documented extension point): none when a request arrives, one
 * when it is answered (health routes quiet), at a level by status, with the request's id. A
 * GraphQL answer that read customer data has its line written by the request pipeline instead:
 * the audit line of its first read carries the request line's fields (one line, not two).
 */
export class RequestLogLines extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'reqId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (request.lineWritten && !error) return;
    const line = requestLineOf(request, reply);
    if (QUIET_ROUTES.has(line.req.path)) return;
    const level = requestLineLevel(error, reply.statusCode);
    if (!(request.log as Logger).isLevelEnabled(level)) return;
    request.log[level](error ? { ...line, err: error } : line, 'request completed');
  }
}
