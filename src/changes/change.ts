/** What changed about one customer, as webhooks tell us: fanned out to every instance. */
import type { WrapUpNote } from './wrap-up-note';
import type { Insight } from './insight';

export type ChangedPart = 'traits' | 'events' | 'identity' | 'conversations' | 'messages' | 'consent' | 'erased' | 'intelligence' | 'notes';

export interface ContextChange {
  profileId: string;
  parts: ChangedPart[];
  source: 'segment' | 'conversations' | 'erasure' | 'intelligence' | 'copilot';
  at: string;
  /** New values of the traits that changed (identify). */
  traits?: Record<string, unknown>;
  event?: { id: string; type: string; name: string | null; occurredAt: string; properties: Record<string, unknown> | null };
  conversationSid?: string;
  /** fromCustomer and authorType (see messageAuthor) are absent in changes from older instances. */
  /** A transcript's operator results (Conversational Intelligence). */
  insights?: Insight[];
  /** An Agent Copilot wrap-up note, new or in its new version. */
  note?: WrapUpNote;
  message?: { sid: string; author: string | null; fromCustomer?: boolean; authorType?: 'phone' | 'email' | null; body: string | null; createdAt: string };
}
