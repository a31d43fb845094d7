import type { FastifyReply } from 'fastify';
import type { AuthService } from './auth.service';

/**
 * Mercurius preExecution hook: GraphQL over HTTP needs a token for every operation, including
 * ones no guarded resolver would see (`{ __typename }`, introspection when it is on).
 */
export function graphqlAuthentication(auth: AuthService) {
  return async (_schema: unknown, _document: unknown, context: { reply?: FastifyReply }): Promise<void> => {
    // No reply: not an HTTP request (a subscription over WebSocket authenticates at connection_init).
    if (context.reply) await auth.authenticateRequest(context.reply.request, context.reply);
  };
}
