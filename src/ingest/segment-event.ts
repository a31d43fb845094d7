import { plainDigest } from '../common/digest';
import { z } from 'zod';

/**
 * A Segment Spec message as the webhook destination sends it. Lenient where Segment is (extra
 * fields pass), strict where we act on a field: wrong types are refused, not guessed at.
 */
const id = z.string().trim().min(1).max(256);

/**
 * Segment forwards a deletion request to the webhook destination as `{"type": "delete", "userId",
 * "timestamp"}`, with no messageId in the documented example
 * (https://segment.com/docs/connections/destinations/catalog/webhooks/#delete; the partner spec's
 * example has one: https://segment.com/docs/partners/spec/#delete). Without one, the request is
 * deduplicated on the user and the timestamp.
 */
const withDeletionId = (value: unknown): unknown => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const message = value as Record<string, unknown>;
  if (message.type !== 'delete' || message.messageId !== undefined) return value;
  const basis = JSON.stringify([message.userId ?? null, message.timestamp ?? message.receivedAt ?? null]);
  return { ...message, messageId: `delete:${plainDigest(basis)}` };
};

const messageObject = z
  .object({
    type: z.enum(['identify', 'track', 'page', 'screen', 'alias', 'group', 'delete']),
    messageId: id,
    userId: id.nullish(),
    anonymousId: id.nullish(),
    previousId: id.nullish(),
    event: z.string().max(256).nullish(),
    name: z.string().max(256).nullish(),
    timestamp: z.string().max(64).nullish(),
    receivedAt: z.string().max(64).nullish(),
    traits: z.record(z.string(), z.unknown()).nullish(),
    properties: z.record(z.string(), z.unknown()).nullish(),
    context: z.record(z.string(), z.unknown()).nullish(),
  })
  .refine((m) => m.userId || m.anonymousId, { message: 'userId or anonymousId is required' })
  .refine((m) => m.type !== 'alias' || m.previousId, { message: 'alias needs previousId' })
  // Segment deletes by userId only.
  .refine((m) => m.type !== 'delete' || m.userId, { message: 'delete needs userId' });

export const segmentMessage = z.preprocess(withDeletionId, messageObject);

export type SegmentMessage = z.infer<typeof messageObject>;

/** When it happened: the message's own timestamp when it parses, else when Segment received it. */
export function occurredAt(message: SegmentMessage, now = Date.now()): string {
  for (const candidate of [message.timestamp, message.receivedAt]) {
    const at = candidate ? Date.parse(candidate) : Number.NaN;
    if (!Number.isNaN(at)) return new Date(at).toISOString();
  }
  return new Date(now).toISOString();
}
