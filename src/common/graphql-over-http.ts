import type { FastifyRequest } from 'fastify';

/**
 * GraphQL over HTTP (graphql.github.io/graphql-over-http, "Request Parameters"): a server MUST
 * accept `null` for the optional `operationName`, `variables` and `extensions`, as if they had
 * been left out. Mercurius's POST body schema types `extensions` as an object only, so a route
 * `preValidation` hook (run before the schema) drops a null one. Nothing else about the request
 * changes.
 */
export async function nullParametersAreAbsent(request: FastifyRequest): Promise<void> {
  const body = request.body as Record<string, unknown> | null | undefined;
  if (body && typeof body === 'object' && !Array.isArray(body) && body.extensions === null) delete body.extensions;
}
