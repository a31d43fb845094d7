import type { FastifyRequest } from 'fastify';
import { plainDigest } from '../common/digest';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * What can be said about a Flex token without asking Twilio. Flex tokens are JWTs; anything
 * else, or one whose own `exp` has passed, is refused here so garbage never costs an IAM call.
 */
const MAX_TOKEN_LENGTH = 8_192;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+$/;
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** `Authorization: Bearer <token>` first, then `X-Flex-Token`. */
export function tokenFromHeaders(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization !== '') return BEARER.exec(authorization)?.[1] ?? null;
  const flexToken = headers['x-flex-token'];
  return typeof flexToken === 'string' && flexToken !== '' ? flexToken.trim() : null;
}

/** A Flex token and its SHA-256 (base64url): what stands for the token in keys and budgets. */
export interface FlexToken {
  token: string;
  digest: string;
}

export const tokenDigest = (token: string): string => plainDigest(token);

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's Flex token, found and digested once (admission and authentication both use it). */
    flexToken?: FlexToken | null;
  }
}

/** The request's Flex token (see `tokenFromHeaders`), with its digest; computed once per request. */
export function requestToken(request: FastifyRequest): FlexToken | null {
  if (request.flexToken === undefined) {
    const token = tokenFromHeaders(request.headers);
    request.flexToken = token ? { token, digest: tokenDigest(token) } : null;
  }
  return request.flexToken;
}

export type Precheck = 'plausible' | 'malformed' | 'expired';

export function precheck(token: string, now: number): Precheck {
  if (token.length > MAX_TOKEN_LENGTH) return 'malformed';
  const payload = JWT_SHAPE.exec(token)?.[1];
  if (!payload) return 'malformed';
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return 'malformed';
  }
  if (typeof claims !== 'object' || claims === null) return 'malformed';
  const exp = (claims as { exp?: unknown }).exp;
  // The signature is not checked here (Twilio does that), so a claim can only make us refuse.
  return typeof exp === 'number' && exp * 1000 <= now ? 'expired' : 'plausible';
}
