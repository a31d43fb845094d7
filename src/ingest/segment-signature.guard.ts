import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { rawBodyOf } from '../twilio/raw-body';

/** What an `X-Signature` vouches for: the whole body, or only a batch's first element. */
export type SegmentSignatureScope = 'body' | 'first';

/**
 * `X-Signature` of Segment's webhook destination: hex HMAC-SHA1 of the body with the shared
 * secret, over the bytes received. Actions' batch mode signs only the first element, serialised
 * on its own: then only that element is authenticated, since anyone holding one signed delivery
 * could append elements to it. Null when nothing is signed; without a secret nothing is.
 */
export function segmentSignatureCovers(
  secret: string | undefined,
  signature: string | undefined,
  rawBody: Buffer | undefined,
  parsed: unknown,
): SegmentSignatureScope | null {
  if (!secret || !signature || !rawBody || !/^[0-9a-f]{40}$/i.test(signature)) return null;
  const given = Buffer.from(signature.toLowerCase(), 'hex');
  const matches = (bytes: Buffer | string) => timingSafeEqual(createHmac('sha1', secret).update(bytes).digest(), given);
  if (matches(rawBody)) return 'body';
  return Array.isArray(parsed) && parsed.length > 0 && matches(JSON.stringify(parsed[0])) ? 'first' : null;
}

const scopes = new WeakMap<object, SegmentSignatureScope>();

/** What the guard found the request's signature to cover; the controller applies only that. */
export function segmentSignatureScopeOf(request: FastifyRequest): SegmentSignatureScope | undefined {
  return scopes.get(request.raw);
}

@Injectable()
export class SegmentSignatureGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const secret = this.config.segment.webhookSecret;
    if (!secret) throw new DomainError(ErrorCode.FORBIDDEN, 'The Segment webhook is off: SEGMENT_WEBHOOK_SECRET is not set');
    const header = request.headers['x-signature'];
    if (typeof header !== 'string' || header.length === 0) throw new DomainError(ErrorCode.UNAUTHENTICATED, 'X-Signature is missing');
    const scope = segmentSignatureCovers(secret, header, rawBodyOf(request), request.body);
    if (!scope) throw new DomainError(ErrorCode.FORBIDDEN, 'X-Signature does not match this request');
    scopes.set(request.raw, scope);
    return true;
  }
}
