import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyBaseLogger, FastifyReply } from 'fastify';
import { GraphQLError } from 'graphql';
import { randomUUID } from 'node:crypto';
import { DomainError, ErrorCode, FASTIFY_CODES, toErrorBody, type ErrorBody } from './errors';

/**
 * Where errors become responses: one JSON shape for HTTP (`{ error: { code, message } }`), one
 * `extensions.code` for GraphQL. Stacks are logged with an errorId, never sent.
 */
const logger = new Logger('Errors');

/** `log`: the request's logger when there is one, so the line carries the request id. */
function describe(error: unknown, where?: Record<string, unknown>, log?: FastifyBaseLogger): ErrorBody {
  const body = toErrorBody(error, randomUUID);
  if (body.errorId) {
    if (log) log.error({ context: 'Errors', errorId: body.errorId, err: error, ...where }, 'unhandled error');
    else logger.error({ errorId: body.errorId, err: error, ...where }, 'unhandled error');
  }
  return body;
}

export function sendError(reply: FastifyReply, error: unknown): void {
  const body = describe(error, undefined, reply.request?.log);
  if (reply.sent) return;
  void reply
    .status(body.status)
    .type('application/json')
    .send({ error: { code: body.code, message: body.message, ...(body.errorId ? { errorId: body.errorId } : {}) } });
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType<string>() === 'graphql') throw exception;
    sendError(host.switchToHttp().getResponse<FastifyReply>(), exception);
  }
}

function isClientError(error: unknown): boolean {
  const status = (error as { statusCode?: unknown })?.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

interface Execution {
  data?: unknown;
  errors: readonly GraphQLError[];
  statusCode?: number;
}

/** Mercurius errorFormatter: maps every error through the same table as HTTP. */
export function formatGraphQLErrors(
  execution: Execution,
  context?: { reply?: FastifyReply },
): { statusCode: number; response: { data: unknown; errors: unknown[] } } {
  const flat: GraphQLError[] = [];
  for (const error of execution.errors) {
    const nested = (error.originalError as { errors?: unknown })?.errors;
    if (Array.isArray(nested)) flat.push(...nested.map(asGraphQLError));
    else flat.push(error);
  }
  // Without data, the request itself was refused: answer with the client error's status.
  let clientStatus: number | undefined;
  const errors = flat.map((error) => {
    const original = error.originalError;
    if (!original || original instanceof GraphQLError) {
      // Parse and validation errors: the message is the point, there is nothing to hide.
      clientStatus ??= 400;
      const code = (error.extensions?.code as string | undefined) ?? 'GRAPHQL_VALIDATION_FAILED';
      return { message: error.message, locations: error.locations, path: error.path, extensions: { ...error.extensions, code } };
    }
    if (!error.path && !(original instanceof DomainError) && !isClientError(original)) {
      // No path: the request failed before any resolver ran (e.g. graphql-js refusing a
      // non-string query). That is the caller's input, not our fault.
      clientStatus ??= 400;
      return { message: 'Malformed GraphQL request', extensions: { code: ErrorCode.BAD_REQUEST } };
    }
    const body = describe(original, { graphqlPath: error.path?.join('.') }, context?.reply?.request?.log);
    if (body.status >= 400 && body.status < 500 && !error.path) clientStatus ??= body.status;
    return {
      message: body.message,
      locations: error.locations,
      path: error.path,
      extensions: { code: body.code, ...(body.errorId ? { errorId: body.errorId } : {}) },
    };
  });
  const statusCode = execution.data ? 200 : (clientStatus ?? 200);
  return { statusCode, response: { data: execution.data ?? null, errors } };
}

/** Mercurius nests plain errors (e.g. its query depth check) in a validation error; keep their code. */
function asGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const code = FASTIFY_CODES[String((error as { code?: unknown })?.code)];
  return new GraphQLError(String((error as Error)?.message ?? error), code ? { extensions: { code } } : {});
}
