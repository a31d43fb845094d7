import { Logger } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import { GraphQLError } from 'graphql';
import { ReplyError } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode, statusOf, UpstreamError, type UpstreamErrorCode } from './errors';

/**
 * The one mapping from anything thrown to what a client sees: an HTTP status, a code of
 * `ErrorCode`, a message safe to send, and for an unexpected error an errorId under which it is
 * logged (with its stack; the client gets `INTERNAL` and the id, never the error's own message).
 * HTTP errors (`sendError`), GraphQL errors (Mercurius's error formatter, the graphql-ws
 * pipeline) and broken HTTP on the socket (`clientErrorHandler`) all answer through it.
 */
export interface MappedError {
  status: number;
  code: ErrorCode;
  message: string;
  /** Set for unexpected errors: the id under which the error was logged. */
  errorId?: string;
}

export interface MapErrorOptions {
  /** The request's logger when there is one, so the line carries the request id. */
  log?: FastifyBaseLogger;
  /** Extra fields for the log line of an unexpected error (e.g. the GraphQL path). */
  where?: Record<string, unknown>;
  newErrorId?: () => string;
}

const logger = new Logger('Errors');

export function mapError(error: unknown, options: MapErrorOptions = {}): MappedError {
  const known = classify(error);
  if (known) {
    const upstream = upstreamErrorOf(error);
    // Which upstream answered what, for the operator: no message, no body, no customer data.
    if (upstream) {
      const fields = {
        context: 'Errors',
        code: upstream.code,
        source: upstream.source,
        upstreamStatus: upstream.upstreamStatus,
        upstreamCode: upstream.upstreamCode,
        ...options.where,
      };
      if (options.log) options.log.warn(fields, 'upstream error answered');
      else logger.warn(fields, 'upstream error answered');
    }
    return known;
  }
  const errorId = (options.newErrorId ?? randomUUID)();
  // A resolver's error is logged as itself, not as the GraphQL error graphql-js wrapped it in.
  const err = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  if (options.log) options.log.error({ context: 'Errors', errorId, err, ...options.where }, 'unhandled error');
  else logger.error({ errorId, err, ...options.where }, 'unhandled error');
  return { status: 500, code: ErrorCode.INTERNAL, message: 'Internal error', errorId };
}

/** The status and code of an `ErrorCode`, for callers that build a refusal from a code. */
export function mapped(code: ErrorCode, message: string): MappedError {
  return { status: statusOf(code), code, message };
}

/** `extensions` of a GraphQL error built from a mapped error. */
export function graphQLExtensions(error: MappedError): { code: ErrorCode; errorId?: string } {
  return { code: error.code, ...(error.errorId ? { errorId: error.errorId } : {}) };
}

/** A GraphQLError carrying the mapped code, for graphql-ws, where no error formatter runs. */
export function toGraphQLError(error: unknown, options: MapErrorOptions = {}): GraphQLError {
  const body = mapError(error, options);
  return new GraphQLError(body.message, { extensions: graphQLExtensions(body) });
}

/**
 * What a client reads when Segment or Twilio failed: the source and a stable message per code. An
 * upstream's own text can echo what was sent to it (a phone number, an email, a group id), so it
 * never leaves: not the error body, not twilio-node's message, not our message built from them.
 */
const UPSTREAM_MESSAGES: Record<UpstreamErrorCode, (source: string) => string> = {
  [ErrorCode.UPSTREAM_UNAVAILABLE]: (source) => `${upstreamName(source)} is unavailable; retry later`,
  [ErrorCode.UPSTREAM_TIMEOUT]: (source) => `${upstreamName(source)} did not answer in time; retry later`,
  [ErrorCode.UPSTREAM_RATE_LIMITED]: (source) => `${upstreamName(source)} is limiting our calls; retry later`,
  [ErrorCode.BUDGET_EXHAUSTED]: (source) => `The ${upstreamName(source)} call budget is spent; retry later`,
  [ErrorCode.BAD_REQUEST]: (source) => `${upstreamName(source)} rejected the request`,
  [ErrorCode.UNAUTHENTICATED]: (source) => `${upstreamName(source)} refused the service's credentials`,
};

/** `segment` → `Segment`; a source is one of ours, never client input. */
function upstreamName(source: string): string {
  return source === 'segment' ? 'Segment' : source === 'twilio' ? 'Twilio' : 'An upstream service';
}

/** The UpstreamError behind an error (a resolver's is wrapped in a GraphQLError), if any. */
function upstreamErrorOf(error: unknown): UpstreamError | undefined {
  const original = error instanceof GraphQLError ? error.originalError : error;
  return original instanceof UpstreamError ? original : undefined;
}

/** Fastify's and Mercurius's own client errors (bad JSON, too large, ...) carry these codes. */
export const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: ErrorCode.BAD_REQUEST,
  FST_ERR_CTP_EMPTY_JSON_BODY: ErrorCode.BAD_REQUEST,
  FST_ERR_CTP_BODY_TOO_LARGE: ErrorCode.PAYLOAD_TOO_LARGE,
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ErrorCode.BAD_REQUEST,
  FST_ERR_VALIDATION: ErrorCode.BAD_REQUEST,
  MER_ERR_GQL_QUERY_DEPTH: ErrorCode.QUERY_TOO_DEEP,
  MER_ERR_GQL_PERSISTED_QUERY_NOT_FOUND: ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  MER_ERR_GQL_PERSISTED_QUERY_NOT_SUPPORTED: ErrorCode.PERSISTED_QUERY_REQUIRED,
};

/**
 * Node's `clientError` errors (nodejs.org/api/http.html, event 'clientError'; nodejs.org/api/errors.html):
 * the request was not received in time, or llhttp could not parse it (`HPE_*` codes).
 */
const HTTP_CLIENT_CODES: Record<string, [ErrorCode, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [ErrorCode.REQUEST_TIMEOUT, 'The request was not received in time'],
  HPE_HEADER_OVERFLOW: [ErrorCode.HEADERS_TOO_LARGE, 'The request headers are too large'],
};

/** The code for a client error that names only its status. */
const BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.BAD_REQUEST,
  401: ErrorCode.UNAUTHENTICATED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  408: ErrorCode.REQUEST_TIMEOUT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  431: ErrorCode.HEADERS_TOO_LARGE,
};

const CODES = new Set<string>(Object.values(ErrorCode));

/**
 * ioredis's error classes (its README, "Error Handling": `Redis.ReplyError`; they all come from
 * the redis-errors package). A `ReplyError` is Redis answering a command with an error: Redis is
 * up, and the command is our bug. Every other `RedisError` (`AbortError`: a command dropped with
 * its connection; ioredis's `MaxRetriesPerRequestError`, an `AbortError`; `ClusterAllFailedError`)
 * says Redis did not answer. ioredis rejects a command it could not send (offline queue off, a
 * closed connection, `commandTimeout`) with a plain Error of no class: the code that sent it says
 * what that means (`redisUnavailable`, cache/redis-connection.ts).
 */
const RedisError = Object.getPrototypeOf(ReplyError) as abstract new (...args: never[]) => Error;

type Candidate = {
  statusCode?: unknown;
  code?: unknown;
  message?: unknown;
  bytesParsed?: unknown;
  getStatus?: () => number;
  getResponse?: () => unknown;
};

/** What a known kind of error means for the client; undefined for an unexpected error. */
function classify(error: unknown): MappedError | undefined {
  // Before DomainError: an upstream's failure never reaches a client in its own words.
  if (error instanceof UpstreamError) return mapped(error.code, UPSTREAM_MESSAGES[error.code](error.source));
  if (error instanceof DomainError) return mapped(error.code, error.message);
  if (error instanceof GraphQLError) return graphQLError(error);
  if (error instanceof RedisError && !(error instanceof ReplyError)) {
    return mapped(ErrorCode.UNAVAILABLE, 'A backing service is unavailable; retry later');
  }
  const candidate = error as Candidate | null | undefined;
  const code = typeof candidate?.code === 'string' ? candidate.code : undefined;
  if (code && FASTIFY_CODES[code]) return mapped(FASTIFY_CODES[code], textOr(candidate?.message, FASTIFY_CODES[code]));
  if (code && HTTP_CLIENT_CODES[code]) return mapped(...HTTP_CLIENT_CODES[code]);
  // Any other llhttp parse error (Node documents `bytesParsed` on a clientError's parse errors).
  if (code?.startsWith('HPE_') || typeof candidate?.bytesParsed === 'number') return mapped(ErrorCode.BAD_REQUEST, 'Malformed HTTP request');
  // NestJS HttpException (e.g. a 404 for an unknown route)
  if (typeof candidate?.getStatus === 'function') {
    const status = candidate.getStatus();
    if (status < 500) {
      const response = candidate.getResponse?.();
      const message =
        typeof response === 'object' && response && 'message' in response ? String(response.message) : textOr(candidate.message, 'Request failed');
      return { status, code: BY_STATUS[status] ?? ErrorCode.BAD_REQUEST, message };
    }
  }
  const status = typeof candidate?.statusCode === 'number' ? candidate.statusCode : undefined;
  if (status !== undefined && status >= 400 && status < 500) {
    return { status, code: BY_STATUS[status] ?? ErrorCode.BAD_REQUEST, message: textOr(candidate?.message, 'Bad request') };
  }
  return undefined;
}

/**
 * graphql-js's errors. Parse and validation errors (no original error, or a GraphQL one): the
 * message is the point, there is nothing to hide; their code is ours when they carry one of
 * ours, else `GRAPHQL_VALIDATION_FAILED`. An error a resolver threw is mapped as itself; one with
 * no path and no known kind is graphql-js refusing the request before any resolver ran (e.g. a
 * non-string query): the caller's input, not our fault.
 */
function graphQLError(error: GraphQLError): MappedError | undefined {
  const original = error.originalError;
  if (!original || original instanceof GraphQLError) {
    const own = error.extensions?.code;
    const code = typeof own === 'string' && CODES.has(own) ? (own as ErrorCode) : (FASTIFY_CODES[String(own)] ?? ErrorCode.GRAPHQL_VALIDATION_FAILED);
    return mapped(code, error.message);
  }
  const known = classify(original);
  if (known) return known;
  if (!error.path) return mapped(ErrorCode.BAD_REQUEST, 'Malformed GraphQL request');
  return undefined;
}

function textOr(message: unknown, fallback: string): string {
  return typeof message === 'string' && message ? message : fallback;
}
