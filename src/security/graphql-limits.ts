import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import { readFileSync } from 'node:fs';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type DocumentNode, type GraphQLSchema } from 'graphql';
import { getComplexity, type ComplexityEstimatorArgs } from 'graphql-query-complexity';
import mercurius from 'mercurius';
import { z } from 'zod';
import { DomainError, ErrorCode } from '../common/errors';
import { nullParametersAreAbsent } from '../common/graphql-over-http';
import type { AppConfig } from '../config/config';
import { checkFirst } from '../common/connection';

/**
 * What a GraphQL request may cost before anything runs: its size, depth and complexity, page sizes,
 * no introspection or IDE unless asked for, no batches, and optionally only persisted queries.
 */

/** graphql's own IntrospectionQuery (what GraphiQL sends) is 15 levels deep. */
const INTROSPECTION_DEPTH = 15;
/** Room for variables beside the query in a POST body. */
const VARIABLES_BYTES = 48 * 1024;
/** Fields that cost one upstream call per parent item, on top of their own size. */
const UPSTREAM_PER_ITEM: Record<string, number> = { 'Conversation.messages': 10 };

/**
 * A field costs 1 plus its children; a paged field (`first`/`last`) its children once per item it
 * may return. Out-of-range page sizes are refused here, before any resolver starts upstream work.
 */
export function estimateComplexity({ type, field, args, childComplexity }: ComplexityEstimatorArgs): number {
  const own = 1 + (UPSTREAM_PER_ITEM[`${type.name}.${field.name}`] ?? 0);
  const name = 'first' in args ? 'first' : 'last' in args ? 'last' : undefined;
  if (name === undefined) return own + childComplexity;
  const size: unknown = args[name];
  if (size === null || size === undefined) return own + childComplexity;
  return own + checkFirst(name, size) * childComplexity;
}

/** The complexity of every operation in the document, with this request's variables. */
export function complexityOf(schema: GraphQLSchema, query: DocumentNode, variables: Record<string, unknown> | undefined): number {
  return getComplexity({ schema, query, variables: variables ?? {}, estimators: [estimateComplexity] });
}

const persistedQueriesFile = z.record(z.string().min(1), z.string().min(1));

function loadPersistedQueries(path: string): Record<string, string> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`GRAPHQL_PERSISTED_QUERIES_FILE ${path}: ${(error as Error).message}`);
  }
  const parsed = persistedQueriesFile.safeParse(raw);
  if (!parsed.success) throw new Error(`GRAPHQL_PERSISTED_QUERIES_FILE ${path}: expected {"<hash>": "<query>", ...}`);
  // No prototype: a hash such as "__proto__" must find nothing.
  return Object.assign(Object.create(null) as Record<string, string>, parsed.data);
}

function persistedQueryOptions(config: AppConfig): Pick<MercuriusDriverConfig, 'persistedQueryProvider'> {
  const { file, only } = config.graphql.persistedQueries;
  if (!file) return {};
  const queries = loadPersistedQueries(file);
  const defaults = only ? mercurius.persistedQueryDefaults.preparedOnly(queries) : mercurius.persistedQueryDefaults.prepared(queries);
  return {
    persistedQueryProvider: {
      ...defaults,
      notFoundError: 'No persisted query has that hash',
      notSupportedError: 'Only persisted queries are accepted: send {"persisted": true, "query": "<hash>"}',
    },
  };
}

/** Mercurius options for the limits above that are plain settings (the hooks are below). */
export function graphqlLimits(config: AppConfig): Partial<MercuriusDriverConfig> {
  const { introspection, ide, maxDepth, maxQueryBytes } = config.graphql;
  return {
    graphiql: ide,
    allowBatchedQueries: false,
    queryDepth: introspection ? Math.max(maxDepth, INTROSPECTION_DEPTH) : maxDepth,
    validationRules: introspection ? [] : [NoSchemaIntrospectionCustomRule],
    additionalRouteOptions: { bodyLimit: maxQueryBytes + VARIABLES_BYTES, preValidation: nullParametersAreAbsent },
    ...persistedQueryOptions(config),
  };
}

/** Mercurius preParsing hook. */
export function refuseLargeQueries(maxQueryBytes: number) {
  return async (_schema: GraphQLSchema, source: string): Promise<void> => {
    if (Buffer.byteLength(source, 'utf8') > maxQueryBytes) {
      throw new DomainError(ErrorCode.QUERY_TOO_LARGE, `The query is larger than ${maxQueryBytes} bytes`);
    }
  };
}

/** Complexities remembered per document (Mercurius hands the same object for the same query text). */
const MEASURED_PER_DOCUMENT = 64;

/**
 * Mercurius preExecution hook. Per request, not a validation rule: Mercurius caches validation
 * per query text, and the complexity depends on the variables (`first: $n`). What a document
 * measured with given variables is remembered, so a repeated query is not walked again.
 */
export function refuseComplexQueries(maxComplexity: number) {
  const measured = new WeakMap<DocumentNode, Map<string, number>>();
  return async (schema: GraphQLSchema, document: DocumentNode, _context: unknown, variables: Record<string, unknown> | undefined): Promise<void> => {
    let byVariables = measured.get(document);
    if (!byVariables) measured.set(document, (byVariables = new Map<string, number>()));
    const key = JSON.stringify(variables ?? null);
    let complexity = byVariables.get(key);
    if (complexity === undefined) {
      try {
        complexity = complexityOf(schema, document, variables);
      } catch (error) {
        if (error instanceof DomainError || error instanceof GraphQLError) throw error;
        throw new DomainError(ErrorCode.BAD_REQUEST, 'The query could not be measured', { cause: error });
      }
      if (byVariables.size >= MEASURED_PER_DOCUMENT) byVariables.clear();
      byVariables.set(key, complexity);
    }
    if (complexity > maxComplexity) {
      throw new DomainError(ErrorCode.QUERY_TOO_COMPLEX, `The query's complexity ${complexity} exceeds the limit of ${maxComplexity}`);
    }
  };
}
