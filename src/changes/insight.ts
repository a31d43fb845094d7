// Conversational Intelligence results as the service keeps them (intelligence/operator-results.ts
// reads them off Twilio's operator results), and the signals they give. Pure: no I/O.

/** Insights read per customer, newest first. */
export const MAX_INSIGHTS = 50;

/** What one language operator concluded about a conversation, as the service keeps it. */
export type InsightKind = 'sentiment' | 'escalation' | 'do_not_contact' | 'summary' | 'other';

export interface Insight {
  /** GT… the transcript the operator ran on. */
  transcriptSid: string;
  /** LY… */
  operatorSid: string | null;
  /** The operator's name as Twilio reports it ("Sentiment Analysis", "Escalation Request", a custom name). */
  operator: string;
  kind: InsightKind;
  /** A classifier's label (`negative`), or for a match operator `true`/`false`. */
  label: string | null;
  /** A text-generation operator's text (a summary). */
  text: string | null;
  at: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The signals insights give, from the customer's kept insights (any order). */
export function insightSignals(insights: Insight[], now = Date.now()) {
  const newest = [...insights].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const sentiment = newest.find((i) => i.kind === 'sentiment' && i.label);
  return {
    lastSentiment: sentiment?.label ?? null,
    lastSentimentAt: sentiment ? new Date(sentiment.at).toISOString() : null,
    escalationRequested24h: newest.some((i) => i.kind === 'escalation' && i.label === 'true' && now - Date.parse(i.at) <= DAY_MS),
    doNotContact: newest.some((i) => i.kind === 'do_not_contact' && i.label === 'true'),
  };
}
