import type { ConversationSummary } from '../conversations/conversation.types';
import { noteSignals, type WrapUpNote } from '../changes/wrap-up-note';
import { insightSignals, type Insight } from '../changes/insight';
import type { ProfileEvent, Traits } from '../profiles/profile.types';

/** Facts derived from what the profile and conversation history say. Pure: no I/O. */
export interface Signals {
  repeatContact24h: boolean;
  contacts24h: number;
  openConversations: number;
  lastSeenAt: string | null;
  lastPurchaseAt: string | null;
  lastSentiment: string | null;
  lastSentimentAt: string | null;
  escalationRequested24h: boolean;
  doNotContact: boolean;
  lastNoteSentiment: string | null;
  lastNoteAt: string | null;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const PURCHASE_EVENTS = new Set(['Order Completed', 'Purchase Completed', 'Checkout Completed']);

export function deriveSignals(
  input: { events: ProfileEvent[]; conversations: ConversationSummary[]; traits: Traits; insights?: Insight[]; notes?: WrapUpNote[] },
  now = Date.now(),
): Signals {
  const contacts24h = input.conversations.filter((c) => now - Date.parse(c.createdAt) <= DAY_MS).length;
  const openConversations = input.conversations.filter((c) => c.state !== 'closed').length;
  const latest = (dates: Array<string | null | undefined>) =>
    dates.reduce<string | null>((best, d) => (d && !Number.isNaN(Date.parse(d)) && (!best || Date.parse(d) > Date.parse(best)) ? d : best), null);
  const lastSeenAt = latest([...input.events.map((e) => e.occurredAt), ...input.conversations.map((c) => c.updatedAt ?? c.createdAt)]);
  const purchase = latest(input.events.filter((e) => e.name && PURCHASE_EVENTS.has(e.name)).map((e) => e.occurredAt));
  const purchaseTrait = typeof input.traits.last_purchase_at === 'string' ? input.traits.last_purchase_at : null;
  const lastPurchaseAt = latest([purchase, purchaseTrait]);
  return {
    repeatContact24h: contacts24h >= 2,
    contacts24h,
    openConversations,
    lastSeenAt: lastSeenAt ? new Date(lastSeenAt).toISOString() : null,
    lastPurchaseAt: lastPurchaseAt ? new Date(lastPurchaseAt).toISOString() : null,
    ...insightSignals(input.insights ?? [], now),
    ...noteSignals(input.notes ?? []),
  };
}

export interface JourneyItem {
  kind: 'event' | 'conversation' | 'intelligence' | 'note';
  at: string;
  event: ProfileEvent | null;
  conversation: ConversationSummary | null;
  insight?: Insight | null;
  note?: WrapUpNote | null;
}

/** Events, conversations, intelligence results and wrap-up notes on one timeline, newest first. */
export function mergeJourney(
  events: ProfileEvent[],
  conversations: ConversationSummary[],
  limit: number,
  insights: Insight[] = [],
  notes: WrapUpNote[] = [],
): JourneyItem[] {
  const items: JourneyItem[] = [
    ...notes.map((note) => ({ kind: 'note' as const, at: note.createdAt, event: null, conversation: null, note })),
    ...insights.map((insight) => ({ kind: 'intelligence' as const, at: insight.at, event: null, conversation: null, insight })),
    ...events.map((event) => ({ kind: 'event' as const, at: event.occurredAt, event, conversation: null })),
    ...conversations.map((conversation) => ({
      kind: 'conversation' as const,
      at: conversation.updatedAt ?? conversation.createdAt,
      event: null,
      conversation,
    })),
  ];
  return items.sort((a, b) => Date.parse(b.at) - Date.parse(a.at)).slice(0, limit);
}
