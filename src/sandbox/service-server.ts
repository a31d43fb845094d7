import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CallLog, CallRecord } from './calls';
import { FAULT_RULE_SCHEMA, type FaultRule, type Faults, type SandboxRoute, type SandboxService } from './faults';

/** Shared by the three servers of one sandbox: faults and the call log span all of them. */
export interface SandboxContext {
  faults: Faults;
  calls: CallLog;
  holds: Holds;
}

export interface ServiceServerOptions {
  service: SandboxService;
  context: SandboxContext;
  /** The service's own error body for a status. */
  errorBody: (status: number, message?: string) => unknown;
  /** Checked after faults; false answers 401 with the service's error body. */
  authorized(request: FastifyRequest): boolean;
  /** Header and value every answer carries (Segment: Request-Id). */
  requestId?: { header: string; next(): string };
  bodyLimit?: number;
  /** Status for a body over `bodyLimit` (Fastify's default is 413). */
  bodyTooLargeStatus?: number;
}

/** Route options' `config` of a sandbox route: names the route in the call log and in faults. */
export interface SandboxRouteConfig {
  sandboxRoute: SandboxRoute;
}

declare module 'fastify' {
  // @fastify/rate-limit declares `rateLimit` here, which makes the route config a "weak type"
  // that refuses a config sharing no key with it, as the sandbox's routes do.
  interface FastifyContextConfig {
    sandboxRoute?: unknown;
  }
}

export const routeConfig = (sandboxRoute: SandboxRoute): { config: SandboxRouteConfig } => ({ config: { sandboxRoute } });

const CONTROL_PREFIX = '/__sandbox/';

/**
 * A Fastify instance for one upstream service: records every call, applies faults, checks
 * credentials, answers errors in the service's own shape and serves the control API.
 */
export function createServiceServer(options: ServiceServerOptions): FastifyInstance {
  const { service, context, errorBody } = options;
  const app = Fastify({
    logger: false,
    // held (timeout) and keep-alive sockets must not delay close()
    forceCloseConnections: true,
    // long identifiers (emails, anonymous ids) travel in path segments
    routerOptions: { maxParamLength: 2048 },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    // a misspelt fault field must be refused, not silently dropped
    ajv: { customOptions: { removeAdditional: false } },
  });
  const callOf = new WeakMap<FastifyRequest, CallRecord>();

  app.addHook('onRequest', async (request, reply) => {
    if (options.requestId) reply.header(options.requestId.header, options.requestId.next());
    if (request.url.startsWith(CONTROL_PREFIX)) return;
    const route = (request.routeOptions.config as Partial<SandboxRouteConfig>).sandboxRoute ?? 'unknown';
    const call: CallRecord = { service, route, method: request.method, path: request.url, status: 0, at: Date.now() };
    context.calls.record(call);
    callOf.set(request, call);

    const fault = context.faults.take(service, route);
    if (fault) {
      if (fault.latencyMs && !(await context.holds.wait(request, fault.latencyMs))) return abandon(reply);
      if (fault.timeout) {
        await context.holds.wait(request);
        return abandon(reply);
      }
      if (fault.status) {
        if (fault.status === 429 && fault.retryAfterSeconds !== undefined) reply.header('Retry-After', String(fault.retryAfterSeconds));
        return reply.code(fault.status).send(errorBody(fault.status, fault.message));
      }
    }
    if (!options.authorized(request)) return reply.code(401).send(errorBody(401));
  });

  app.addHook('onResponse', async (request, reply) => {
    const call = callOf.get(request);
    if (call) call.status = reply.statusCode;
  });

  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(404, `The requested resource ${request.url.split('?')[0]} was not found`)));
  app.setErrorHandler((error: { statusCode?: number; code?: string; message?: string }, _request, reply) => {
    let status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' && options.bodyTooLargeStatus) status = options.bodyTooLargeStatus;
    return reply.code(status).send(errorBody(status, error.message));
  });

  app.post<{ Body: FaultRule }>(`${CONTROL_PREFIX}faults`, { schema: { body: FAULT_RULE_SCHEMA } }, async (request, reply) => {
    context.faults.add(request.body);
    return reply.code(204).send();
  });
  app.delete(`${CONTROL_PREFIX}faults`, async (_request, reply) => {
    context.faults.clear();
    return reply.code(204).send();
  });
  app.get(`${CONTROL_PREFIX}calls`, async () => ({ log: context.calls.log() }));
  app.delete(`${CONTROL_PREFIX}calls`, async (_request, reply) => {
    context.calls.reset();
    return reply.code(204).send();
  });
  return app;
}

/** Leaves a request unanswered: the socket is closed without a response, as a dead upstream would. */
function abandon(reply: FastifyReply): FastifyReply {
  reply.hijack();
  reply.raw.destroy();
  return reply;
}

/**
 * Delays and held requests. Each ends early when the client goes away or the sandbox closes,
 * so close() never waits for a fault to run its course.
 */
export class Holds {
  private readonly pending = new Set<() => void>();
  private closed = false;

  /** Resolves true after `ms`, false if the client left or the sandbox closed first; without `ms`, only the latter. */
  wait(request: FastifyRequest, ms?: number): Promise<boolean> {
    const socket = request.raw.socket;
    if (this.closed || socket.destroyed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (completed: boolean): void => {
        if (timer) clearTimeout(timer);
        socket.off('close', gone);
        this.pending.delete(gone);
        resolve(completed);
      };
      const gone = (): void => finish(false);
      this.pending.add(gone);
      socket.once('close', gone);
      if (ms !== undefined) timer = setTimeout(() => finish(true), ms);
    });
  }

  releaseAll(): void {
    this.closed = true;
    for (const release of [...this.pending]) release();
  }
}

/** Fastify parses repeated query keys into arrays; the APIs here take the first value. */
export function queryValue(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

export function queryValues(query: unknown, name: string): string[] {
  const value = (query as Record<string, string | string[] | undefined>)[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** User name and password of a Basic Authorization header, or null. */
export function basicCredentials(request: FastifyRequest): { user: string; password: string } | null {
  const header = request.headers.authorization;
  if (!header || !/^basic /i.test(header)) return null;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
