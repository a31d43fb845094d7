import { Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ExecutionResult } from 'graphql';
import type { MercuriusContext } from 'mercurius';
import type { Logger } from 'pino';
import { AuthService } from '../auth/auth.service';
import { CustomerAccess, type AccessTarget } from '../auth/customer-access';
import type { Principal } from '../auth/principal';
import { AnswerCache, type AnswerRead, type KeptAnswer, type PendingAnswer } from '../context/answer-cache';
import { requestLineLevel, requestLineOf } from '../common/logging';
import { CustomerRoot } from '../context/customer-context.service';
import type { WebSocket, WebSocketServer } from 'ws';
import { SubscriptionPipeline, type LiveContext } from '../live/subscriptions';
import { RequestMetrics } from '../metrics/request-metrics';
import { AccessPolicy, roleSetKey, type PolicyView } from '../security/access-policy';
import { AuditLog } from './audit-log';
import { RateLimits } from '../security/rate-limits';
import type { FreshnessSummary } from '../tracking/tracking.service';
import { TrackingService } from '../tracking/tracking.service';
import { viewerOf } from '../tracking/viewer';

/**
 * The request pipeline: every GraphQL request passes these steps once, in this order, whether its
 * answer is computed or kept. Every hook is added here and nowhere else.
 *
 *   Fastify onRequest   1. admission: request id (Fastify's genReqId), client address (TRUST_PROXY),
 *                          the per-address and per-token budgets (one Redis round trip for both),
 *                          body size (Fastify's bodyLimit, before any of this reads the body)
 *   Fastify preHandler  2. authentication (GraphQL over HTTP): a stranger gets 401 before anything
 *                          else is said, GraphQL validation errors included; the principal and its
 *                          policy view are computed once and go into the GraphQL context
 *                       3. the kept answer: looked up for this question and policy view; strict
 *                          access decides on its customers as on a computed answer; a hit skips
 *                          only execution (its document was parsed, validated and measured when
 *                          it was computed: the same text and variables give the same verdict)
 *   Mercurius           4. size (preParsing), parse, validation and depth, complexity (preExecution)
 *                       5. execution: strict access per root field that names a customer
 *                          (CustomerAccessInterceptor → `access`), each read recorded (`read`)
 *   Fastify onSend      6. after the answer, computed or kept: the audit line, the tracked view,
 *                          keeping a computed answer, then the hooks registered with `onAnswered`;
 *                          the first audit line carries the request's line when both go to stdout
 *   Fastify onResponse  7. request metrics (RequestMetrics); the request's log line (RequestLogLines),
 *                          unless the audit line carried it
 *
 * A graphql-ws connection passes the same steps (SubscriptionPipeline, live/subscriptions.ts; its
 * hooks are added here too):
 *
 *   Fastify onRequest        1. admission of the upgrade request (as above)
 *   WebSocket `connection`   every message screened before Mercurius reads it: shape and size, one
 *                            connection_init, subscribe messages per minute, duplicate ids (44xx)
 *   subscription.context     2. authentication at connection_init (4403 and closed on failure);
 *                            a connectionInit inside a subscribe changes nothing, asks IAM nothing
 *   preSubscriptionParsing   expiry, size
 *   preSubscriptionExecution expiry, validation, depth (Mercurius), complexity, subscriptions per
 *                            connection; then strict access at the root field (5, as above)
 *   onSubscriptionResolution expiry before each push; the socket is also closed when its token expires
 *   onSubscriptionEnd        the subscription no longer counts against the connection
 */

/** What one GraphQL request carries through the pipeline. */
export interface RequestState {
  /** `performance.now()` when authentication began. */
  readonly startedAt: number;
  readonly principal: Principal;
  readonly policy: PolicyView;
  /** The policy view's identity: kept answers are per view. */
  readonly viewKey: string;
  /** Root fields that named a customer, as computed or as kept. */
  reads: AnswerRead[];
  kept: KeptAnswer | null;
  pending: PendingAnswer | null;
  /** The computed answer carried errors: not kept. */
  failed: boolean;
}

/** What the steps after the answer see; `onAnswered` hooks get the same. */
export interface Answered {
  request: FastifyRequest;
  state: RequestState;
  /** True when the answer was a kept one. */
  kept: boolean;
  statusCode: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by authentication for GraphQL over HTTP; read by every later step. */
    pipeline?: RequestState;
  }
}

const GRAPHQL_PATH = '/graphql';
/** Root fields that show a customer to an agent: each is one tracked view. */
const VIEWS = new Set(['customerContext', 'refreshCustomerContext']);
/** Unambiguous whatever the role names contain. */
const viewKeyOf = (principal: Principal) => roleSetKey(principal.roles);

function freshnessOf(root: CustomerRoot): FreshnessSummary {
  const sources = [...root.sources.values()];
  return { stale: sources.some((s) => s.stale || s.error), sources };
}

@Injectable()
export class RequestPipeline implements OnModuleInit, OnApplicationBootstrap {
  private readonly answeredHooks: Array<(answered: Answered) => void> = [];

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly limits: RateLimits,
    private readonly auth: AuthService,
    private readonly policy: AccessPolicy,
    private readonly strict: CustomerAccess,
    private readonly answers: AnswerCache,
    private readonly audit: AuditLog,
    private readonly tracking: TrackingService,
    private readonly metrics: RequestMetrics,
    private readonly live: SubscriptionPipeline,
  ) {}

  /** Root-level Fastify hooks, added before the routes exist so every route gets them. */
  onModuleInit(): void {
    const fastify = this.fastify();
    fastify.addHook('onRequest', (request, reply) => {
      void reply.header('x-request-id', request.id);
      return this.limits.admit(request, reply);
    });
    fastify.addHook('preHandler', (request, reply) => this.beforeExecution(request, reply));
    fastify.addHook('onSend', (request, reply, payload, done) => {
      this.afterAnswer(request, reply, payload);
      done(null, payload);
    });
  }

  /** Mercurius (and its WebSocket server) exist once the GraphQL module has started. */
  onApplicationBootstrap(): void {
    const fastify = this.fastify();
    const graphql = fastify.graphql;
    graphql.addHook('onResolution', (execution: ExecutionResult, context: MercuriusContext) => {
      const state = context.reply?.request.pipeline;
      if (state && execution.errors?.length) state.failed = true;
    });
    // graphql-ws: each socket is screened before Mercurius reads its first message.
    (fastify as unknown as { websocketServer?: WebSocketServer }).websocketServer?.on('connection', (socket: WebSocket) => this.live.accept(socket));
    graphql.addHook('preSubscriptionParsing', (schema, source, context) => this.live.beforeParsing(schema, source, context as LiveContext));
    graphql.addHook('preSubscriptionExecution', (schema, document, context, id) =>
      this.live.beforeExecution(schema, document, context as LiveContext, String(id)),
    );
    graphql.addHook('onSubscriptionResolution', (execution, context) => this.live.beforePush(execution, context as LiveContext));
    graphql.addHook('onSubscriptionEnd', (context, id) => this.live.ended(context as LiveContext, String(id)));
  }

  /** Runs `hook` after every GraphQL answer, computed or kept; returns its removal. */
  onAnswered(hook: (answered: Answered) => void): () => void {
    this.answeredHooks.push(hook);
    return () => this.answeredHooks.splice(this.answeredHooks.indexOf(hook) >>> 0, 1);
  }

  /** Step 3 and 5: may this caller read this customer (ACCESS_STRICT)? Throws FORBIDDEN if not. */
  access(principal: Principal | null, target: AccessTarget): Promise<void> {
    return this.strict.check(principal, target);
  }

  /**
   * Step 5: a root field read a customer (or was refused). Over HTTP it is recorded for the steps
   * after the answer; a subscription (no HTTP request) is audited at once.
   */
  read(state: RequestState | undefined, principal: Principal | null, read: AnswerRead): void {
    if (state) state.reads.push(read);
    else this.audit.customerRead({ principal, field: read.field, parts: read.parts, ...read.target, result: read.result, error: read.error });
  }

  /** Steps 2 and 3. */
  private async beforeExecution(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (request.routeOptions.url !== GRAPHQL_PATH || (request as { ws?: boolean }).ws) return;
    const startedAt = performance.now();
    const principal = await this.auth.authenticateRequest(request, reply, () => this.limits.admitNewToken(request.ip));
    const state: RequestState = {
      startedAt,
      principal,
      policy: this.policy.viewFor(principal),
      viewKey: viewKeyOf(principal),
      reads: [],
      kept: null,
      pending: null,
      failed: false,
    };
    request.pipeline = state;
    const found = this.answers.lookup(request, state.viewKey);
    if (!found) return;
    state.pending = found.pending;
    if (!found.hit || !(await this.allowed(principal, found.hit))) {
      this.answers.counted('miss');
      return;
    }
    this.answers.counted('hit');
    state.kept = found.hit;
    state.reads = found.hit.reads;
    this.metrics.noteDocument(request, found.hit.document);
    return reply.header('content-type', 'application/json; charset=utf-8').send(found.hit.payload);
  }

  /** Strict access on a kept answer's customers; a refusal is computed in full, so it is answered and audited as usual. */
  private async allowed(principal: Principal, kept: KeptAnswer): Promise<boolean> {
    try {
      for (const read of kept.reads) await this.access(principal, read.target);
      return true;
    } catch {
      return false;
    }
  }

  /** Step 6, once per request. */
  private afterAnswer(request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
    const state = request.pipeline;
    if (!state) return;
    request.pipeline = undefined;
    const kept = state.kept !== null;
    if (!kept && state.pending && !state.failed && reply.statusCode === 200 && typeof payload === 'string') {
      this.answers.keep(state.pending, state.viewKey, state.reads, payload);
    }
    const viewer = viewerOf(request);
    // One line per answer, not two: when the audit trail goes to stdout beside the service's log,
    // the audit line of the first read carries the request's own line (RequestLogLines skips it).
    let line = state.reads.length > 0 && this.audit.beside ? this.requestLine(request, reply) : undefined;
    if (line) request.lineWritten = true;
    for (const read of state.reads) {
      this.audit.customerRead(
        { principal: state.principal, field: read.field, parts: read.parts, ...read.target, result: read.result, error: read.error },
        { reqId: request.id, line },
      );
      line = undefined;
      if (read.error || !VIEWS.has(read.field) || !(read.result instanceof CustomerRoot)) continue;
      const customer = read.result;
      const keptFreshness = read.freshness;
      this.tracking.contextViewed({
        customer,
        viewer,
        selected: new Set(read.parts),
        refresh: read.field === 'refreshCustomerContext',
        startedAt: state.startedAt,
        freshness: keptFreshness,
        // A computed answer's reads may outlive it (one started for a field that then failed).
        settled: () => customer.settled().then(() => freshnessOf(customer)),
      });
    }
    const answered: Answered = { request, state, kept, statusCode: reply.statusCode };
    for (const hook of this.answeredHooks) hook(answered);
  }

  /** The request's line, when the service's log would write it (at info). */
  private requestLine(request: FastifyRequest, reply: FastifyReply): Record<string, unknown> | undefined {
    const level = requestLineLevel(null, reply.statusCode);
    return level === 'info' && (request.log as Logger).isLevelEnabled(level) ? requestLineOf(request, reply) : undefined;
  }

  private fastify(): FastifyInstance {
    return this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
  }
}
