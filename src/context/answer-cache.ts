import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Kind, parse, type DocumentNode, type ExecutionResult, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import type { MercuriusContext } from 'mercurius';
import { createHash } from 'node:crypto';
import { Counter, Registry } from 'prom-client';
import { AuthService } from '../auth/auth.service';
import type { Principal } from '../auth/principal';
import { CacheService } from '../cache/cache.service';
import { AppConfig } from '../config/config';
import { ChangeBus } from '../live/change-bus';
import { RequestMetrics } from '../metrics/request-metrics';
import { AuditLog } from '../security/audit-log';
import { StrictAccess, type AccessTarget } from '../security/strict-access';
import { TrackingService } from '../tracking/tracking.service';
import { viewerOf } from '../tracking/viewer';
import { CustomerRoot } from './customer-context.service';

/** One customer read by an answer: what its access check and audit line are replayed from. */
export interface AnswerRead {
  field: string;
  parts: string[];
  target: AccessTarget;
  result: unknown;
}

interface Shape {
  document: DocumentNode;
}

interface Entry {
  question: string;
  payload: Buffer;
  reads: Array<Omit<AnswerRead, 'result'> & { customer: CustomerRoot; freshness: { stale: boolean; sources: Array<{ source: string; error: string | null }> } }>;
  document: DocumentNode;
  indexed: string[];
}

interface Pending {
  /** The query text, variables and operation name, hashed. */
  question: string;
  document: DocumentNode;
  epoch: number;
  reads: AnswerRead[];
  failed: boolean;
}

const GRAPHQL_PATH = '/graphql';
const MAX_SHAPES = 256;
/** Changes remembered to refuse an answer that was being built while one of its parts changed. */
const MAX_REMEMBERED_CHANGES = 50_000;
const profileIndex = (profileKey: string) => `profile:${profileKey}`;
/** The access policy masks by role: one answer per question and role set. */
const answerKey = (question: string, principal: Principal) => `${[...principal.roles].sort().join(',')}\n${question}`;

/**
 * Whole GraphQL answers for customer context queries, kept serialised in process so that an agent
 * opening the same customer again costs neither execution nor serialisation. An answer is kept
 * only when every part of it was fresh, until the first part goes past its TTL (at most
 * CACHE_ANSWERS_MAX_AGE_MS), per query text, variables and role set (the access policy masks by
 * role). It is dropped as soon as any cache key it was built from changes, here or on another
 * instance (bentocache's bus), or a webhook changes its customer (the change bus). What is per
 * request stays per request on a hit: authentication, strict access, the audit line, tracking and
 * request metrics.
 */
@Injectable()
export class AnswerCache implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AnswerCache.name);
  private readonly entries?: LRUCache<string, Entry>;
  /** Cache key or profile → keys of the answers built from it. */
  private readonly index = new Map<string, Set<string>>();
  private readonly shapes = new Map<string, Shape | null>();
  /** Question → how many answers (one per role set) are kept for it. */
  private readonly questions = new Map<string, number>();
  private readonly pending = new WeakMap<FastifyRequest, Pending>();
  /** Change counter, and the counter's value at each indexed name's last change. */
  private epoch = 0;
  private readonly changedAt = new Map<string, number>();
  private forgottenBefore = 0;
  private readonly lookups: Counter<'outcome'>;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly config: AppConfig,
    private readonly adapterHost: HttpAdapterHost,
    private readonly cache: CacheService,
    private readonly changes: ChangeBus,
    private readonly auth: AuthService,
    private readonly strict: StrictAccess,
    private readonly audit: AuditLog,
    private readonly tracking: TrackingService,
    private readonly requestMetrics: RequestMetrics,
    registry: Registry,
  ) {
    const { maxMb, maxAgeMs } = config.cache.answers;
    if (maxMb > 0 && maxAgeMs > 0) {
      this.entries = new LRUCache<string, Entry>({
        maxSize: maxMb * 1024 * 1024,
        sizeCalculation: (entry) => entry.payload.length + 512,
        ttl: maxAgeMs,
        dispose: (entry, key) => this.forget(key, entry),
      });
    }
    this.lookups = new Counter({
      name: 'cc_answer_cache_lookups_total',
      help: 'Customer context queries looked up in the answer cache: hit (answered from it), miss (executed), kept (the executed answer was kept), changed (answers dropped because a part changed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
  }

  onModuleInit(): void {
    if (!this.entries) {
      this.logger.log('CACHE_ANSWERS_MAX_MB or CACHE_ANSWERS_MAX_AGE_MS is 0: every customer context query is executed');
      return;
    }
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('preHandler', (request, reply) => this.answer(request, reply));
    fastify.addHook('onSend', async (request, reply, payload) => {
      this.keep(request, reply, payload);
      return payload;
    });
    this.unsubscribe.push(
      this.cache.onKeysChanged((keys) => keys.forEach((key) => this.changed(key))),
      this.changes.onChange((change) => this.changed(profileIndex(change.profileId))),
    );
  }

  /** Mercurius exists once the GraphQL module has started. */
  onApplicationBootstrap(): void {
    if (!this.entries) return;
    this.adapterHost.httpAdapter.getInstance<FastifyInstance>().graphql.addHook('onResolution', (execution: ExecutionResult, context: MercuriusContext) => {
      const pending = context.reply && this.pending.get(context.reply.request);
      if (pending && execution.errors?.length) pending.failed = true;
    });
  }

  onModuleDestroy(): void {
    this.unsubscribe.forEach((off) => off());
  }

  /** Called for each customer-naming root field the request resolved (the access interceptor). */
  noteRead(request: FastifyRequest | undefined, read: AnswerRead): void {
    const pending = request && this.pending.get(request);
    if (pending) pending.reads.push(read);
  }

  /** preHandler: answer from the cache, or mark the request so its answer can be kept. */
  private async answer(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const shape = this.shapeOf(request);
    if (!shape) return;
    const startedAt = performance.now();
    const body = request.body as { query: string; variables?: unknown; operationName?: unknown };
    const question = createHash('sha256').update(`${String(body.operationName ?? '')}\n${JSON.stringify(body.variables ?? null)}\n${body.query}`).digest('base64url');
    const pending: Pending = { question, document: shape.document, epoch: this.epoch, reads: [], failed: false };
    // Nothing kept for this question: GraphQL validates it before anyone is asked who the caller is.
    if (!this.questions.has(question)) {
      this.miss(request, pending);
      return;
    }
    let principal: Principal;
    try {
      principal = await this.auth.authenticateRequest(request, reply);
    } catch {
      return; // GraphQL's own authentication answers the refusal, in GraphQL's shape.
    }
    const entry = this.entries!.get(answerKey(question, principal));
    if (!entry || !(await this.replayChecks(entry, principal))) {
      this.miss(request, pending);
      return;
    }
    this.lookups.inc({ outcome: 'hit' });
    this.requestMetrics.noteDocument(request, entry.document);
    for (const read of entry.reads) {
      this.audit.customerRead({ principal, field: read.field, parts: read.parts, ...read.target, result: read.customer });
      if (read.field === 'customerContext') {
        this.tracking.contextViewed({
          customer: read.customer,
          viewer: viewerOf(request),
          selected: new Set(read.parts),
          refresh: false,
          startedAt,
          settled: () => Promise.resolve(read.freshness),
        });
      }
    }
    await reply.header('content-type', 'application/json; charset=utf-8').send(entry.payload);
  }

  private miss(request: FastifyRequest, pending: Pending): void {
    this.lookups.inc({ outcome: 'miss' });
    this.pending.set(request, pending);
  }

  /** Strict access is per worker: a kept answer is only for a caller the check lets through. */
  private async replayChecks(entry: Entry, principal: Principal): Promise<boolean> {
    try {
      for (const read of entry.reads) await this.strict.check(principal, read.target);
      return true;
    } catch {
      return false; // executed in full, so the refusal is answered and audited as usual
    }
  }

  /** onSend: keep the executed answer when every part of it was fresh and nothing changed meanwhile. */
  private keep(request: FastifyRequest, reply: FastifyReply, payload: unknown): void {
    const pending = this.pending.get(request);
    if (!pending) return;
    this.pending.delete(request);
    const principal = request.principal;
    if (pending.failed || !principal || reply.statusCode !== 200 || typeof payload !== 'string' || pending.reads.length === 0) return;
    const now = Date.now();
    // Spread over the last quarter of the max age: answers kept in one burst (a shift starting, a
    // restart) would otherwise all be rebuilt in the same second.
    let expiresAt = now + this.config.cache.answers.maxAgeMs * (0.75 + 0.25 * Math.random());
    const reads: Entry['reads'] = [];
    const indexed = new Set<string>();
    for (const read of pending.reads) {
      if (!(read.result instanceof CustomerRoot)) return; // nobody found: not worth keeping
      const root = read.result;
      const sources = [...root.sources.values()];
      if (sources.some((s) => s.stale || s.error)) return;
      expiresAt = Math.min(expiresAt, root.trail.expiresAt);
      root.trail.keys.forEach((k) => indexed.add(k));
      if (root.profileKey) indexed.add(profileIndex(root.profileKey));
      const customer = new CustomerRoot(root.profileKey, root.resolvedBy, root.externalIds, root.addresses, null);
      reads.push({ field: read.field, parts: read.parts, target: read.target, customer, freshness: { stale: false, sources: sources.map((s) => ({ source: s.source, error: null })) } });
    }
    if (expiresAt <= now || pending.epoch < this.forgottenBefore) return;
    for (const name of indexed) if ((this.changedAt.get(name) ?? -1) > pending.epoch) return;
    const key = answerKey(pending.question, principal);
    const entry: Entry = { question: pending.question, payload: Buffer.from(payload), reads, document: pending.document, indexed: [...indexed] };
    this.entries!.set(key, entry, { ttl: expiresAt - now });
    if (this.entries!.peek(key) !== entry) return; // larger than the whole bound
    this.questions.set(entry.question, (this.questions.get(entry.question) ?? 0) + 1);
    for (const name of entry.indexed) {
      let keys = this.index.get(name);
      if (!keys) this.index.set(name, (keys = new Set()));
      keys.add(key);
    }
    this.lookups.inc({ outcome: 'kept' });
  }

  /** A cache key or a profile changed: drop every answer built from it. */
  private changed(name: string): void {
    this.epoch++;
    if (this.changedAt.size >= MAX_REMEMBERED_CHANGES) {
      this.changedAt.clear();
      this.forgottenBefore = this.epoch;
    }
    this.changedAt.set(name, this.epoch);
    const keys = this.index.get(name);
    if (!keys) return;
    for (const key of [...keys]) {
      if (this.entries!.delete(key)) this.lookups.inc({ outcome: 'changed' });
    }
  }

  /** An answer left the cache (dropped, expired, evicted or replaced): forget its traces. */
  private forget(key: string, entry: Entry): void {
    const left = (this.questions.get(entry.question) ?? 1) - 1;
    if (left > 0) this.questions.set(entry.question, left);
    else this.questions.delete(entry.question);
    for (const name of entry.indexed) {
      const keys = this.index.get(name);
      if (!keys) continue;
      keys.delete(key);
      if (keys.size === 0) this.index.delete(name);
    }
  }

  /**
   * The request's query when it is one this cache serves: a POST to /graphql with one query
   * operation whose root fields are all `customerContext`. Parsed once per query text.
   */
  private shapeOf(request: FastifyRequest): Shape | null {
    if (request.method !== 'POST' || request.routeOptions.url !== GRAPHQL_PATH) return null;
    const body = request.body as { query?: unknown; extensions?: unknown } | null | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof body.query !== 'string' || body.extensions !== undefined) return null;
    if (body.query.length > this.config.graphql.maxQueryBytes) return null;
    let shape = this.shapes.get(body.query);
    if (shape === undefined) {
      shape = shapeOfQuery(body.query);
      if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
      this.shapes.set(body.query, shape);
    }
    return shape;
  }
}

function shapeOfQuery(query: string): Shape | null {
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return null; // GraphQL answers the syntax error
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || operations[0].operation !== 'query') return null;
  const [operation] = operations;
  const cacheable = operation.selectionSet.selections.every(
    (s) => s.kind === Kind.FIELD && s.name.value === 'customerContext' && (s.directives?.length ?? 0) === 0,
  );
  return cacheable && (operation.directives?.length ?? 0) === 0 ? { document } : null;
}
