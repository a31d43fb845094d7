import { Injectable, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Kind, type DocumentNode, type ExecutionResult } from 'graphql';
import type { MercuriusContext } from 'mercurius';
import { Counter, Histogram, Registry } from 'prom-client';

/** Operation names come from clients: past this many distinct ones, the rest share `other`. */
const MAX_OPERATION_NAMES = 50;
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Operation {
  name: string;
  type: string;
}

/**
 * Request duration per route and, for GraphQL, per operation name, plus GraphQL errors per code.
 * One Fastify onResponse hook and two Mercurius hooks that only read what is already parsed:
 * no extra parsing or awaiting on the hot path.
 */
@Injectable()
export class RequestMetrics implements OnModuleInit, OnApplicationBootstrap {
  private readonly http: Histogram<'method' | 'route' | 'status'>;
  private readonly graphql: Histogram<'operation' | 'type'>;
  private readonly graphqlErrors: Counter<'operation' | 'code'>;
  /** Operations of a document; Mercurius hands the same document object for the same query text. */
  private readonly operationsOf = new WeakMap<DocumentNode, Operation[]>();
  private readonly operationOf = new WeakMap<FastifyRequest, Operation>();
  private readonly knownNames = new Set<string>();

  constructor(
    registry: Registry,
    private readonly adapterHost: HttpAdapterHost,
  ) {
    this.http = new Histogram({
      name: 'cc_http_request_duration_seconds',
      help: 'HTTP requests by method, route pattern (unmatched: no route) and status, from arrival to the last byte sent',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: BUCKETS,
      registers: [registry],
    });
    this.graphql = new Histogram({
      name: 'cc_graphql_request_duration_seconds',
      help: 'GraphQL over HTTP by operation name (anonymous: none given) and type, for operations that passed authentication and the limits',
      labelNames: ['operation', 'type'] as const,
      buckets: BUCKETS,
      registers: [registry],
    });
    this.graphqlErrors = new Counter({
      name: 'cc_graphql_errors_total',
      help: 'Errors in GraphQL answers by operation name and extensions.code (partial answers included)',
      labelNames: ['operation', 'code'] as const,
      registers: [registry],
    });
  }

  /** Root-level hook, added before Fastify is ready so every route of the root context gets it. */
  onModuleInit(): void {
    this.fastify().addHook('onResponse', (request, reply, done) => {
      const seconds = reply.elapsedTime / 1000;
      this.http.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, seconds);
      const operation = this.operationOf.get(request);
      if (operation) this.graphql.observe({ operation: operation.name, type: operation.type }, seconds);
      done();
    });
  }

  /** Mercurius exists once the GraphQL module has started; its hooks run after the ones it was given (authentication first). */
  onApplicationBootstrap(): void {
    const graphql = this.fastify().graphql;
    graphql.addHook('preExecution', (_schema, document, context: MercuriusContext) => {
      // No reply: a subscription over WebSocket, which has no request duration.
      // (A FastifyReply is thenable, hence the explicit comparisons.)
      if (context.reply !== undefined) this.noteDocument(context.reply.request, document);
    });
    graphql.addHook('onResolution', (execution: ExecutionResult, context: MercuriusContext) => {
      if (!execution.errors || context.reply === undefined) return;
      const operation = this.operationOf.get(context.reply.request)?.name ?? 'anonymous';
      for (const error of execution.errors) {
        const code = error.extensions?.code;
        this.graphqlErrors.inc({ operation, code: typeof code === 'string' ? code : 'UNKNOWN' });
      }
    });
  }

  /** The operation a GraphQL request runs, for its duration; also for answers served without executing. */
  noteDocument(request: FastifyRequest, document: DocumentNode): void {
    this.operationOf.set(request, this.operation(document, request));
  }

  private fastify(): FastifyInstance {
    return this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
  }

  private operation(document: DocumentNode, request: FastifyRequest): Operation {
    let operations = this.operationsOf.get(document);
    if (!operations) {
      operations = document.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION ? [{ name: this.label(d.name?.value), type: d.operation }] : []));
      this.operationsOf.set(document, operations);
    }
    if (operations.length === 1) return operations[0];
    // Several operations in one document: operationName (body, or query string on GET) chose one.
    const chosen = ((request.body ?? request.query) as { operationName?: unknown } | undefined)?.operationName;
    const label = this.label(typeof chosen === 'string' ? chosen : undefined);
    return operations.find((o) => o.name === label) ?? operations[0];
  }

  private label(name: string | undefined): string {
    if (!name) return 'anonymous';
    if (this.knownNames.has(name)) return name;
    if (this.knownNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.knownNames.add(name);
    return name;
  }
}
