import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Kind, OperationTypeNode, parse, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { LRUCache } from 'lru-cache';
import { Counter, Registry } from 'prom-client';
import { cacheKeys } from '../cache/cache-keys';
import { CacheService } from '../cache/cache.service';
import { plainDigest } from '../common/digest';
import { AppConfig } from '../config/config';
import type { AccessTarget } from '../auth/customer-access';
import type { FreshnessSummary } from '../tracking/tracking.service';
import { CustomerRoot } from './customer-context.service';
import { IdentifierDigest } from '../common/identifier-digest';

/** One customer read by an answer: what its access check, audit line and tracked view are made from. */
export interface AnswerRead {
  field: string;
  parts: string[];
  target: AccessTarget;
  result: unknown;
  /** The error code when the read was refused or failed. */
  error?: string;
  /** How fresh the parts were: set for kept answers, read from the customer otherwise. */
  freshness?: FreshnessSummary;
}

interface Shape {
  /**
   * Names the query text in questions (a short digest hashes faster than the text): computed once
   * per parse, and the same after the shapes are cleared, so clearing them keeps every answer.
   */
  id: string;
  document: DocumentNode;
}

/** A kept answer: its bytes, and the reads it was built from (for the steps that follow any answer). */
export interface KeptAnswer {
  question: string;
  payload: Buffer;
  reads: Array<AnswerRead & { result: CustomerRoot; freshness: FreshnessSummary }>;
  document: DocumentNode;
  indexed: string[];
}

/** An answer being computed that may be kept: what it was asked, and when. */
export interface PendingAnswer {
  /** The operation name, the variables and the query text (by its shape), hashed. */
  question: string;
  document: DocumentNode;
  epoch: number;
}

const GRAPHQL_PATH = '/graphql';
const MAX_SHAPES = 256;
/** Changes remembered to refuse an answer that was being built while one of its parts changed. */
const MAX_REMEMBERED_CHANGES = 50_000;
/** The access policy masks by role: one answer per question and policy view (its role set). */
const answerKey = (question: string, viewKey: string) => `${viewKey}\n${question}`;

/**
 * Whole GraphQL answers for customer context queries, kept serialised in process so that an agent
 * opening the same customer again costs neither execution nor serialisation. An answer is kept
 * only when every part of it was fresh, until the first part goes past its TTL (at most
 * CACHE_ANSWERS_MAX_AGE_MS), per query text, variables and policy view (the access policy masks
 * by role). It is dropped as soon as any cache key it was built from changes, here or on another
 * instance (bentocache's bus); a webhook's change to its customer is such a key change (the
 * profile's news key, `cacheKeys.news`), announced before the change is pushed.
 *
 * It is one step of the request pipeline (pipeline/request-pipeline.ts), looked up after
 * authentication, limits and access checks; a hit skips only execution.
 */
@Injectable()
export class AnswerCache implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(AnswerCache.name);
  private readonly entries?: LRUCache<string, KeptAnswer>;
  /** Cache key → keys of the answers built from it. */
  private readonly index = new Map<string, Set<string>>();
  private readonly shapes = new Map<string, Shape | null>();
  /** Question → how many answers (one per policy view) are kept for it. */
  private readonly questions = new Map<string, number>();
  /** Change counter, and the counter's value at each indexed name's last change. */
  private epoch = 0;
  private readonly changedAt = new Map<string, number>();
  private forgottenBefore = 0;
  private readonly lookups: Counter<'outcome'>;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly config: AppConfig,
    private readonly cache: CacheService,
    registry: Registry,
    private readonly ids: IdentifierDigest,
  ) {
    const { maxMb, maxAgeMs } = config.cache.answers;
    if (maxMb > 0 && maxAgeMs > 0) {
      this.entries = new LRUCache<string, KeptAnswer>({
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
    // The one path: a refresh, a write, a dropped key, and a webhook's news (its profile's news
    // key, announced before the change is pushed), here or on another instance.
    this.unsubscribe.push(this.cache.onKeysChanged((keys) => keys.forEach((key) => this.changed(key))));
  }

  /** After the HTTP server has drained: a change still drops the kept answers until the last is given. */
  onApplicationShutdown(): void {
    this.unsubscribe.forEach((off) => off());
  }

  /**
   * The kept answer for this request and policy view, if any; otherwise what is needed to keep
   * the answer once computed (null: not a question this cache serves).
   */
  lookup(request: FastifyRequest, viewKey: string): { pending: PendingAnswer; hit?: KeptAnswer } | null {
    if (!this.entries) return null;
    const shape = this.shapeOf(request);
    if (!shape) return null;
    const body = request.body as { query: string; variables?: unknown; operationName?: unknown };
    // Keyed like every other identifier-bearing key: the variables carry phones and emails.
    const question = this.ids.of(
      `${typeof body.operationName === 'string' ? body.operationName : JSON.stringify(body.operationName ?? '')}\n${JSON.stringify(body.variables ?? null)}\n${shape.id}`,
      43,
    );
    const pending = { question, document: shape.document, epoch: this.epoch };
    const hit = this.questions.has(question) ? this.entries.get(answerKey(question, viewKey)) : undefined;
    return { pending, hit };
  }

  /** Whether the request was answered from a kept answer (a kept answer a guard refused is computed: a miss). */
  counted(outcome: 'hit' | 'miss'): void {
    this.lookups.inc({ outcome });
  }

  /** Keeps a computed answer when every part of it was fresh and nothing changed meanwhile. */
  keep(pending: PendingAnswer, viewKey: string, executed: readonly AnswerRead[], payload: string): void {
    if (executed.length === 0) return;
    const now = Date.now();
    // Spread over the last quarter of the max age: answers kept in one burst (a shift starting, a
    // restart) would otherwise all be rebuilt in the same second.
    let expiresAt = now + this.config.cache.answers.maxAgeMs * (0.75 + 0.25 * Math.random());
    const reads: KeptAnswer['reads'] = [];
    const indexed = new Set<string>();
    for (const read of executed) {
      if (read.error || !(read.result instanceof CustomerRoot)) return; // refused, or nobody found: not worth keeping
      const root = read.result;
      const sources = [...root.sources.values()];
      if (sources.some((s) => s.stale || s.error)) return;
      expiresAt = Math.min(expiresAt, root.trail.expiresAt);
      root.trail.keys.forEach((k) => indexed.add(k));
      if (root.profileKey) indexed.add(cacheKeys.news(root.profileKey));
      const customer = new CustomerRoot(root.profileKey, root.resolvedBy, root.externalIds, root.addresses, null);
      reads.push({
        field: read.field,
        parts: read.parts,
        target: read.target,
        result: customer,
        freshness: { stale: false, sources: sources.map((s) => ({ source: s.source, error: null })) },
      });
    }
    if (expiresAt <= now || pending.epoch < this.forgottenBefore) return;
    for (const name of indexed) if ((this.changedAt.get(name) ?? -1) > pending.epoch) return;
    const key = answerKey(pending.question, viewKey);
    const entry: KeptAnswer = { question: pending.question, payload: Buffer.from(payload), reads, document: pending.document, indexed: [...indexed] };
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

  /** A cache key changed: drop every answer built from it. */
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
  private forget(key: string, entry: KeptAnswer): void {
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
      const document = cacheableQuery(body.query);
      shape = document ? { id: plainDigest(body.query), document } : null;
      if (this.shapes.size >= MAX_SHAPES) this.shapes.clear();
      this.shapes.set(body.query, shape);
    }
    return shape;
  }
}

/** The parsed query when it is one operation of `customerContext` fields only. */
function cacheableQuery(query: string): DocumentNode | null {
  let document: DocumentNode;
  try {
    document = parse(query, { noLocation: true });
  } catch {
    return null; // GraphQL answers the syntax error
  }
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  if (operations.length !== 1 || operations[0].operation !== OperationTypeNode.QUERY) return null;
  const [operation] = operations;
  const cacheable = operation.selectionSet.selections.every(
    (s) => s.kind === Kind.FIELD && s.name.value === 'customerContext' && (s.directives?.length ?? 0) === 0,
  );
  return cacheable && (operation.directives?.length ?? 0) === 0 ? document : null;
}
