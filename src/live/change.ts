/** What changed about one customer, as webhooks tell us: fanned out to every instance. */
export type ChangedPart = 'traits' | 'events' | 'identity' | 'conversations' | 'messages' | 'consent' | 'erased';

export interface ContextChange {
  profileId: string;
  parts: ChangedPart[];
  source: 'segment' | 'conversations' | 'erasure';
  at: string;
  /** New values of the traits that changed (identify). */
  traits?: Record<string, unknown>;
  event?: { id: string; type: string; name: string | null; occurredAt: string; properties: Record<string, unknown> | null };
  conversationSid?: string;
  /** fromCustomer and authorType (see messageAuthor) are absent in changes from older instances. */
  message?: { sid: string; author: string | null; fromCustomer?: boolean; authorType?: 'phone' | 'email' | null; body: string | null; createdAt: string };
}
