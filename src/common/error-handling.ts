import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GraphQLError } from 'graphql';
import { FASTIFY_CODES, graphQLExtensions, mapError } from './error-mapper';

/**
 * Where errors become responses: one JSON shape for HTTP (`{ error: { code, message } }`), one
 * `extensions.code` for GraphQL, both from `mapError`. Stacks are logged with an errorId, never sent.
 */
export function sendError(reply: FastifyReply, error: unknown): void {
  const body = mapError(error, { log: reply.request?.log });
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

interface Execution {
  data?: unknown;
  errors: readonly GraphQLError[];
  statusCode?: number;
}

/** Mercurius errorFormatter (HTTP, and graphql-ws pushes): every error through `mapError`. */
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
    const body = mapError(error, { log: context?.reply?.request?.log, where: { graphqlPath: error.path?.join('.') } });
    // No path: refused before any resolver ran (parse, validation, limits).
    if (body.status >= 400 && body.status < 500 && !error.path) clientStatus ??= body.status;
    // A parse or validation error keeps graphql-js's own extensions beside the code.
    const own = !error.originalError || error.originalError instanceof GraphQLError ? error.extensions : {};
    return { message: body.message, locations: error.locations, path: error.path, extensions: { ...own, ...graphQLExtensions(body) } };
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
