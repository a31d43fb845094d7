import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Params } from 'nestjs-pino';
import type { AppConfig } from '../config/config';

const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);
const REQUEST_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * JSON logs (pino) with a request id on every line. Paths are logged without their query string
 * (lookups put phone numbers and emails there); auth headers, tokens and signatures are redacted.
 */
export function loggingParams(config: AppConfig): Params {
  return {
    pinoHttp: {
      level: config.logLevel,
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('x-request-id', id);
        return id;
      },
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
        req: (req: IncomingMessage & { id?: string }) => ({ id: req.id, method: req.method, path: (req.url ?? '').split('?')[0] }),
        res: (res: ServerResponse) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req: IncomingMessage) => QUIET_ROUTES.has((req.url ?? '').split('?')[0]) },
      customLogLevel: (_req: IncomingMessage, res: ServerResponse, error?: Error) =>
        error || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
    },
  };
}
