import type { FastifyRequest } from 'fastify';

/** A caller as Twilio's token validation describes them. */
export interface Principal {
  identity: string;
  /** Flex roles: agent, supervisor, admin (others pass through unchanged). */
  roles: string[];
  workerSid: string | null;
  /** When the token stops being valid, ms since the epoch. */
  expiresAt: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set once the request's token is validated (AuthService.authenticateRequest). */
    principal?: Principal;
  }
}

/**
 * What a GraphQL context knows of its caller: over HTTP the request, over WebSocket the principal
 * that connection_init produced.
 */
export interface CallerContext {
  req?: FastifyRequest;
  principal?: Principal;
}

/** The caller the guard (HTTP) or connection_init (WebSocket) let through; null otherwise. */
export function principalOf(context: CallerContext | undefined): Principal | null {
  return context?.principal ?? context?.req?.principal ?? null;
}
