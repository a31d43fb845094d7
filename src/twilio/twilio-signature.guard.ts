import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { validateRequest, validateRequestWithBody } from 'twilio';
import { DomainError, ErrorCode } from '../common/errors';
import { AppConfig } from '../config/config';
import { rawBodyOf } from './raw-body';

/** Form parameters as Twilio sent them; a repeated key keeps all its values. */
export type FormParams = Record<string, string | string[]>;

export interface SignedRequest {
  authToken: string;
  signature: string | undefined;
  /** The URL Twilio called: PUBLIC_BASE_URL + path + query, never the Host header (proxies rewrite it). */
  url: string;
  /** Form-encoded requests: the signature covers the parameters. */
  params?: FormParams;
  /** JSON requests: the signature covers the URL, whose `bodySHA256` covers these bytes. */
  rawJsonBody?: Buffer;
}

/**
 * twilio-node's own checks (constant-time comparison, the URL with and without its default port).
 * An empty auth token verifies nothing, so it refuses everything.
 */
export function hasValidTwilioSignature(request: SignedRequest): boolean {
  const { authToken, signature, url } = request;
  if (!authToken || !signature) return false;
  try {
    if (request.rawJsonBody) {
      // Twilio puts the body's hash in the URL; without it the body would not be covered at all.
      if (!/[?&]bodySHA256=/.test(url)) return false;
      return validateRequestWithBody(authToken, signature, url, request.rawJsonBody.toString('utf8'));
    }
    return validateRequest(authToken, signature, url, request.params ?? {});
  } catch {
    // twilio-node parses the URL; one it cannot parse was not signed by Twilio either.
    return false;
  }
}

/**
 * `X-Twilio-Signature` on Twilio's webhooks and on callers that sign like Twilio (Studio,
 * Functions). A request that fails gets 403 before any of the route's work runs. Routes that
 * accept JSON need `@RouteConfig(KEEP_RAW_BODY)`, so the body's bytes can be checked.
 */
@Injectable()
export class TwilioSignatureGuard implements CanActivate {
  constructor(private readonly config: AppConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers['x-twilio-signature'];
    const json = /^application\/json\b/i.test(request.headers['content-type'] ?? '');
    const rawJsonBody = json ? rawBodyOf(request) : undefined;
    const valid =
      (!json || rawJsonBody !== undefined) &&
      hasValidTwilioSignature({
        authToken: this.config.twilio.authToken,
        signature: typeof header === 'string' ? header : undefined,
        url: `${this.config.publicBaseUrl}${request.raw.url ?? request.url}`,
        params: json ? undefined : formParams(request.body),
        rawJsonBody,
      });
    if (!valid) throw new DomainError(ErrorCode.FORBIDDEN, 'X-Twilio-Signature does not match this request');
    return true;
  }
}

/** The parsed form body, or no parameters for a request without one. */
function formParams(body: unknown): FormParams {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return {};
  const params: FormParams = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) params[key] = value;
  }
  return params;
}
