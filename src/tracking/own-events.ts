/**
 * Every event this service tracks carries this in its `context`, so that when the source behind
 * SEGMENT_WRITE_KEY also feeds the webhook destination, the service recognises its own events on
 * the way back and does not apply them: a `Customer Context Changed` applied as news would change
 * the context, be tracked again, and so on without end.
 */
export const OWN_EVENT_CONTEXT = { customer_context: { tracked_by: 'customer-context' } } as const;

/** True for a message this service tracked itself (its `context` carries the marker). */
export function isOwnEvent(message: { context?: Record<string, unknown> | null }): boolean {
  const marker = message.context?.customer_context;
  return typeof marker === 'object' && marker !== null && (marker as Record<string, unknown>).tracked_by === OWN_EVENT_CONTEXT.customer_context.tracked_by;
}
