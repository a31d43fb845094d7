import type { OperatorResultWire, TranscriptInfo } from '../changes/insight';

/** Port to Twilio Conversational Intelligence (https://intelligence.twilio.com/v2). */
export abstract class IntelligenceSource {
  /** A transcript; null when Twilio does not know it. */
  abstract transcript(transcriptSid: string): Promise<TranscriptInfo | null>;
  /** Every operator result of a transcript; empty when Twilio does not know it. */
  abstract operatorResults(transcriptSid: string): Promise<OperatorResultWire[]>;
}
