import { insightSignals } from './insight';

const GT = `GT${'1'.repeat(32)}`;
const HOUR = 60 * 60_000;

describe(insightSignals.name, () => {
  const now = Date.parse('2026-01-02T12:00:00.000Z');
  const at = (hoursAgo: number) => new Date(now - hoursAgo * HOUR).toISOString();
  const insight = (kind: 'sentiment' | 'escalation' | 'do_not_contact', label: string, hoursAgo: number) => ({
    transcriptSid: GT,
    operatorSid: null,
    operator: kind,
    kind,
    label,
    text: null,
    at: at(hoursAgo),
  });

  it('takes the newest sentiment, escalations of the last 24 hours, and any do-not-contact', () => {
    const signals = insightSignals(
      [insight('sentiment', 'positive', 30), insight('sentiment', 'negative', 2), insight('escalation', 'true', 25), insight('do_not_contact', 'true', 300)],
      now,
    );
    expect(signals).toEqual({ lastSentiment: 'negative', lastSentimentAt: at(2), escalationRequested24h: false, doNotContact: true });
    expect(insightSignals([insight('escalation', 'true', 23)], now).escalationRequested24h).toBe(true);
    expect(insightSignals([insight('escalation', 'false', 1)], now).escalationRequested24h).toBe(false);
  });

  it('is empty without insights', () => {
    expect(insightSignals([], now)).toEqual({ lastSentiment: null, lastSentimentAt: null, escalationRequested24h: false, doNotContact: false });
  });
});
