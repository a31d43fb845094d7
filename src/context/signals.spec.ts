import type { ConversationSummary } from '../conversations/conversation.types';
import type { ProfileEvent } from '../profiles/profile.types';
import { deriveSignals, mergeJourney } from './signals';

const now = Date.parse('2026-11-23T12:00:00Z');
const hoursAgo = (h: number) => new Date(now - h * 3_600_000).toISOString();
const event = (name: string, h: number): ProfileEvent => ({ id: `${name}-${h}`, type: 'track', name, occurredAt: hoursAgo(h), properties: null });
const conversation = (sid: string, createdH: number, state: string, updatedH: number | null = null): ConversationSummary => ({
  sid,
  channel: 'sms',
  state,
  createdAt: hoursAgo(createdH),
  updatedAt: updatedH === null ? null : hoursAgo(updatedH),
  friendlyName: null,
  address: '+14158675309',
});

describe('deriveSignals', () => {
  it('counts contacts in the last 24 hours and open conversations', () => {
    const signals = deriveSignals(
      { events: [], conversations: [conversation('CH1', 2, 'active'), conversation('CH2', 20, 'closed'), conversation('CH3', 30, 'inactive')], traits: {} },
      now,
    );
    expect(signals).toMatchObject({ contacts24h: 2, repeatContact24h: true, openConversations: 2 });
  });

  it('is not a repeat contact with one contact', () => {
    expect(deriveSignals({ events: [], conversations: [conversation('CH1', 2, 'active')], traits: {} }, now).repeatContact24h).toBe(false);
  });

  it('takes the latest activity and purchase', () => {
    const signals = deriveSignals(
      {
        events: [event('Order Completed', 50), event('Page Viewed', 3)],
        conversations: [conversation('CH1', 40, 'closed', 1)],
        traits: { last_purchase_at: hoursAgo(100) },
      },
      now,
    );
    expect(signals.lastSeenAt).toBe(hoursAgo(1));
    expect(signals.lastPurchaseAt).toBe(hoursAgo(50));
  });

  it('falls back to the last_purchase_at trait and copes with nothing', () => {
    expect(deriveSignals({ events: [], conversations: [], traits: { last_purchase_at: hoursAgo(5) } }, now).lastPurchaseAt).toBe(hoursAgo(5));
    expect(deriveSignals({ events: [], conversations: [], traits: { last_purchase_at: 'yesterday' } }, now)).toEqual({
      repeatContact24h: false,
      contacts24h: 0,
      openConversations: 0,
      lastSeenAt: null,
      lastPurchaseAt: null,
      lastSentiment: null,
      lastSentimentAt: null,
      escalationRequested24h: false,
      doNotContact: false,
      lastNoteSentiment: null,
      lastNoteAt: null,
    });
  });
});

describe('mergeJourney', () => {
  it('interleaves events and conversations newest first', () => {
    const items = mergeJourney([event('A', 5), event('B', 1)], [conversation('CH1', 10, 'closed', 3)], 10);
    expect(items.map((i) => i.event?.name ?? i.conversation?.sid)).toEqual(['B', 'CH1', 'A']);
    expect(mergeJourney([event('A', 5), event('B', 1)], [], 1)).toHaveLength(1);
  });
});
