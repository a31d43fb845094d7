import { createHmac } from 'node:crypto';
import type { Harness } from './harness';

/**
 * What Segment's webhook destination sends: the JSON body signed (hex HMAC-SHA1, `X-Signature`)
 * with the harness's SEGMENT_WEBHOOK_SECRET, or with the signature given.
 */
export function postSegment(h: Pick<Harness, 'url' | 'config'>, body: unknown, signature?: string): Promise<Response> {
  const raw = JSON.stringify(body);
  return fetch(`${h.url}/webhooks/segment`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-signature':
        signature ??
        createHmac('sha1', h.config.segment.webhookSecret ?? '')
          .update(raw)
          .digest('hex'),
    },
    body: raw,
  });
}
