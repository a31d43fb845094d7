import { createHmac } from 'node:crypto';

/**
 * Segment's side of a deletion request (a `SUPPRESS_WITH_DELETE` or `DELETE_ONLY` regulation, by
 * `userId`): for each source with a webhook destination, Segment forwards a notification to the
 * webhook URL, signed like every webhook delivery (`X-Signature`: hex HMAC-SHA1 of the body with the
 * destination's shared secret). The body is the documented one, with no messageId:
 * https://segment.com/docs/connections/destinations/catalog/webhooks/#delete
 * (regulation types: https://segment.com/docs/privacy/user-deletion-and-suppression/#regulations).
 */
export interface UserDeletion {
  /** The service's Segment webhook route, e.g. `http://127.0.0.1:4000/webhooks/segment`. */
  webhookUrl: string;
  /** The webhook destination's shared secret (SEGMENT_WEBHOOK_SECRET on the service's side). */
  sharedSecret: string;
  userId: string;
  /** When Segment sends it; default now. */
  at?: Date;
}

/** The delete message exactly as the webhook destination docs show it. */
export function userDeletionMessage(userId: string, at: Date = new Date()): { type: 'delete'; userId: string; timestamp: string } {
  return { type: 'delete', userId, timestamp: at.toISOString() };
}

/** Sends the deletion notification as Segment's webhook destination does; resolves to the service's answer. */
export async function forwardUserDeletion(deletion: UserDeletion): Promise<Response> {
  const body = JSON.stringify(userDeletionMessage(deletion.userId, deletion.at));
  return fetch(deletion.webhookUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Segment.io/1.0',
      'x-signature': createHmac('sha1', deletion.sharedSecret).update(body).digest('hex'),
    },
    body,
  });
}
