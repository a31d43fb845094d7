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

/** Port to Twilio Conversational Intelligence (https://intelligence.twilio.com/v2). */
export abstract class IntelligenceSource {
  /** A transcript; null when Twilio does not know it. */
  abstract transcript(transcriptSid: string): Promise<TranscriptInfo | null>;
  /** Every operator result of a transcript; empty when Twilio does not know it. */
  abstract operatorResults(transcriptSid: string): Promise<OperatorResultWire[]>;
}
