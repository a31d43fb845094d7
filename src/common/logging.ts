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
          req: (req: { id?: string; method?: string; url?: string }) => ({ id: req.id, method: req.method, path: (req.url ?? '').split('?')[0] }),
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

/**
 * Fastify's own request lines (its documented extension point): none when a request arrives, one
 * when it is answered (health routes quiet), at a level by status, with the request's id.
 */
export class RequestLogLines extends LogController {
  constructor() {
    super({ requestIdLogLabel: 'reqId' });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    const path = request.url.split('?')[0];
    if (QUIET_ROUTES.has(path)) return;
    const level = error || reply.statusCode >= 500 ? 'error' : reply.statusCode >= 400 ? 'warn' : 'info';
    if (!(request.log as Logger).isLevelEnabled(level)) return;
    const line = {
      req: { method: request.method, url: path },
      res: { statusCode: reply.statusCode },
      responseTime: Math.round(reply.elapsedTime),
      ...(error ? { err: error } : {}),
    };
    request.log[level](line, 'request completed');
  }
}
