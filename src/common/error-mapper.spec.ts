import { NotFoundException } from '@nestjs/common';
import type { FastifyBaseLogger } from 'fastify';
import { GraphQLError, parse, validate, buildSchema } from 'graphql';
import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { upstreamErrorFor } from '../upstream/upstream-policy';
import { DomainError, ErrorCode, UpstreamError } from './errors';
import { mapError, toGraphQLError, type MappedError } from './error-mapper';

const ids = () => 'err-1';
const CODES = new Set<string>(Object.values(ErrorCode));

/** A request logger that keeps its error lines. */
function recordingLog(): FastifyBaseLogger & { lines: unknown[]; warnings: unknown[] } {
  const lines: unknown[] = [];
  const warnings: unknown[] = [];
  return {
    lines,
    warnings,
    error: (fields: unknown) => lines.push(fields),
    warn: (fields: unknown) => warnings.push(fields),
  } as unknown as FastifyBaseLogger & {
    lines: unknown[];
    warnings: unknown[];
  };
}

function map(error: unknown): MappedError {
  const body = mapError(error, { newErrorId: ids, log: recordingLog() });
  expect(CODES.has(body.code)).toBe(true);
  return body;
}

describe('mapError', () => {
  it('maps domain errors to their status and code', () => {
    expect(map(new DomainError(ErrorCode.BAD_REQUEST, 'first must be small'))).toEqual({ status: 400, code: 'BAD_REQUEST', message: 'first must be small' });
    expect(map(new DomainError(ErrorCode.UPSTREAM_TIMEOUT, 'segment timed out'))).toEqual({
      status: 504,
      code: 'UPSTREAM_TIMEOUT',
      message: 'segment timed out',
    });
  });

  it("maps Fastify's and Mercurius's client errors by their code", () => {
    expect(map(Object.assign(new Error('Body is not valid JSON'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }))).toMatchObject({
      status: 400,
      code: 'BAD_REQUEST',
      message: 'Body is not valid JSON',
    });
    expect(map(Object.assign(new Error('too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }))).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    // Any other Fastify error with a client status: the code of that status.
    expect(map(Object.assign(new Error('Method Not Allowed'), { code: 'FST_ERR_X', statusCode: 405 }))).toMatchObject({ status: 405, code: 'BAD_REQUEST' });
    expect(map(Object.assign(new Error('slow down'), { statusCode: 429 }))).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(map(new NotFoundException('Cannot GET /nowhere'))).toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'Cannot GET /nowhere' });
  });

  it("maps Node's clientError errors: 408, 431, and any other parse error to 400", () => {
    expect(map(Object.assign(new Error('Request timeout'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }))).toEqual({
      status: 408,
      code: 'REQUEST_TIMEOUT',
      message: 'The request was not received in time',
    });
    expect(map(Object.assign(new Error('Header overflow'), { code: 'HPE_HEADER_OVERFLOW', bytesParsed: 20_000 }))).toMatchObject({
      status: 431,
      code: 'HEADERS_TOO_LARGE',
    });
    expect(map(Object.assign(new Error('Invalid method'), { code: 'HPE_INVALID_METHOD', bytesParsed: 0 }))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
      message: 'Malformed HTTP request',
    });
  });

  it('gives GraphQL parse and validation errors a code of the enum, and keeps their message', () => {
    const schema = buildSchema('type Query { a: Int }');
    const [invalid] = validate(schema, parse('{ b }'));
    expect(map(invalid)).toEqual({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED', message: invalid.message });
    expect(map(new GraphQLError('Syntax Error: Unexpected <EOF>.'))).toMatchObject({ status: 400, code: 'GRAPHQL_VALIDATION_FAILED' });
    // A code of ours is kept; a code from elsewhere is not passed on.
    expect(map(new GraphQLError('too deep', { extensions: { code: 'QUERY_TOO_DEEP' } }))).toMatchObject({ code: 'QUERY_TOO_DEEP' });
    expect(map(new GraphQLError('too deep', { extensions: { code: 'MER_ERR_GQL_QUERY_DEPTH' } }))).toMatchObject({ code: 'QUERY_TOO_DEEP' });
    expect(map(new GraphQLError('nope', { extensions: { code: 'SOMETHING_ELSE' } }))).toMatchObject({ code: 'GRAPHQL_VALIDATION_FAILED' });
  });

  it('maps the error a resolver threw, not the GraphQL error around it', () => {
    const wrapped = new GraphQLError('ACCESS_STRICT', { path: ['customerContext'], originalError: new DomainError(ErrorCode.FORBIDDEN, 'not yours') });
    expect(map(wrapped)).toEqual({ status: 403, code: 'FORBIDDEN', message: 'not yours' });
    // No path and no known kind: graphql-js refused the request before any resolver ran.
    expect(map(new GraphQLError('Must provide Source. Received: 1.', { originalError: new TypeError('Must provide Source') }))).toEqual({
      status: 400,
      code: 'BAD_REQUEST',
      message: 'Malformed GraphQL request',
    });
  });

  it('answers 503 for the ioredis errors that say Redis did not answer, and 500 for a Redis reply error', () => {
    expect(map(new MaxRetriesPerRequestError(1))).toMatchObject({ status: 503, code: 'UNAVAILABLE' });
    expect(map(new (ReplyError as new (message: string) => Error)('WRONGTYPE Operation against a key holding the wrong kind of value'))).toMatchObject({
      status: 500,
      code: 'INTERNAL',
    });
    // ioredis's classless errors are the caller's to interpret (redisUnavailable): text is not read.
    expect(map(new Error('Command timed out'))).toMatchObject({ status: 500, code: 'INTERNAL' });
  });

  it('hides unknown errors behind an errorId, and logs the error under that id', () => {
    const log = recordingLog();
    const error = new TypeError('secret internals');
    expect(mapError(error, { log, newErrorId: ids, where: { graphqlPath: 'a.b' } })).toEqual({
      status: 500,
      code: 'INTERNAL',
      message: 'Internal error',
      errorId: 'err-1',
    });
    expect(log.lines).toEqual([{ context: 'Errors', errorId: 'err-1', err: error, graphqlPath: 'a.b' }]);
    const inResolver = new GraphQLError('secret internals', { path: ['customerContext'], originalError: error });
    expect(mapError(inResolver, { log, newErrorId: ids })).toMatchObject({ code: 'INTERNAL', message: 'Internal error', errorId: 'err-1' });
    expect(log.lines[1]).toEqual({ context: 'Errors', errorId: 'err-1', err: error });
    expect((log.lines[1] as { err: unknown }).err).toBe(error);
  });

  it("never passes an upstream's own words to the client: a stable message per code, the upstream's code in the log only", () => {
    const log = recordingLog();
    // What Segment and Twilio answer can quote what was sent to them.
    const quoted = [
      upstreamErrorFor('twilio', 400, 21211),
      upstreamErrorFor('segment', 404, 'profile user_id:jane@example.com not found'),
      new UpstreamError('twilio', ErrorCode.BAD_REQUEST, "The 'To' number +15550100 is not a valid phone number", 400, undefined, '21211'),
      new UpstreamError('segment', ErrorCode.UPSTREAM_UNAVAILABLE, 'segment failed (500): jane@example.com', 500),
    ];
    const answers = quoted.map((error) => mapError(new GraphQLError(error.message, { path: ['enrichTask'], originalError: error }), { log }));
    expect(answers).toEqual([
      { status: 400, code: 'BAD_REQUEST', message: 'Twilio rejected the request' },
      { status: 400, code: 'BAD_REQUEST', message: 'Segment rejected the request' },
      { status: 400, code: 'BAD_REQUEST', message: 'Twilio rejected the request' },
      { status: 502, code: 'UPSTREAM_UNAVAILABLE', message: 'Segment is unavailable; retry later' },
    ]);
    expect(map(upstreamErrorFor('segment', 429, 'rate_limited', 1_000))).toEqual({
      status: 503,
      code: 'UPSTREAM_RATE_LIMITED',
      message: 'Segment is limiting our calls; retry later',
    });
    // The log keeps which upstream answered what, and a plain code: no message, no free text.
    expect(log.warnings[0]).toEqual({ context: 'Errors', code: 'BAD_REQUEST', source: 'twilio', upstreamStatus: 400, upstreamCode: '21211' });
    expect(log.warnings[1]).toEqual({ context: 'Errors', code: 'BAD_REQUEST', source: 'segment', upstreamStatus: 404, upstreamCode: undefined });
    expect(JSON.stringify([answers, log.warnings, quoted.slice(0, 2).map((e) => e.message)])).not.toMatch(/jane|\+1555/);
  });

  it('builds the GraphQL error graphql-ws sends from the same mapping', () => {
    const error = toGraphQLError(new DomainError(ErrorCode.QUERY_TOO_COMPLEX, 'too complex'));
    expect({ message: error.message, extensions: error.extensions }).toEqual({ message: 'too complex', extensions: { code: 'QUERY_TOO_COMPLEX' } });
    const hidden = toGraphQLError(new Error('secret'), { log: recordingLog(), newErrorId: ids });
    expect({ message: hidden.message, extensions: hidden.extensions }).toEqual({
      message: 'Internal error',
      extensions: { code: 'INTERNAL', errorId: 'err-1' },
    });
  });
});
