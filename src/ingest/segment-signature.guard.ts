import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { rawBodyOf } from '../twilio/raw-body';

/**
 * `X-Signature` of Segment's webhook destination: hex HMAC-SHA1 of the body with the shared
 * secret, over the bytes received. Actions' batch mode signs only the first element, serialised
 * on its own. Without a configured secret every request is refused.
 */
export function hasValidSegmentSignature(secret: string | undefined, signature: string | undefined, rawBody: Buffer | undefined, parsed: unknown): boolean {
  if (!secret || !signature || !rawBody || !/^[0-9a-f]{40}$/i.test(signature)) return false;
  const given = Buffer.from(signature.toLowerCase(), 'hex');
  const matches = (bytes: Buffer | string) => timingSafeEqual(createHmac('sha1', secret).update(bytes).digest(), given);
  if (matches(rawBody)) return true;
  return Array.isArray(parsed) && parsed.length > 0 && matches(JSON.stringify(parsed[0]));
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
    if (!hasValidSegmentSignature(secret, header, rawBodyOf(request), request.body)) {
      throw new DomainError(ErrorCode.FORBIDDEN, 'X-Signature does not match this request');
    }
    return true;
  }
}
