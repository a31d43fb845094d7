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

/** The parts of a Transcript resource the service reads. */
export interface TranscriptInfo {
  sid: string;
  /** The participant whose role is Customer: their media_participant_id (a phone) or email. */
  customerAddress: string | null;
  customerKey: string | null;
  at: string;
}

/** The parts of one OperatorResult the service reads (snake_case as on the wire). */
export interface OperatorResultWire {
  operator_type?: string | null;
  name?: string | null;
  operator_sid?: string | null;
  extract_match?: boolean | null;
  utterance_match?: boolean | null;
  predicted_label?: string | null;
  normalized_result?: string | null;
  text_generation_results?: unknown;
}
