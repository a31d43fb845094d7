import { Injectable } from '@nestjs/common';
import { TwilioCalls } from '../twilio/twilio-calls';
import { IntelligenceSource, type OperatorResultWire, type TranscriptInfo } from './intelligence.source';

const PAGE_SIZE = 50;

/**
 * Conversational Intelligence through twilio-node: GET /v2/Transcripts/{Sid} and
 * GET /v2/Transcripts/{Sid}/OperatorResults
 * (https://www.twilio.com/docs/conversational-intelligence/api/transcript-resource,
 * https://www.twilio.com/docs/conversational-intelligence/api/transcript-operator-results-subresource).
 */
@Injectable()
export class TwilioIntelligenceSource extends IntelligenceSource {
  constructor(private readonly twilio: TwilioCalls) {
    super();
  }

  transcript(transcriptSid: string): Promise<TranscriptInfo | null> {
    return this.call(
      'transcript',
      async () => {
        const t = await this.twilio.client.intelligence.v2.transcripts(transcriptSid).fetch();
        const at = t.dateUpdated ?? t.dateCreated;
        return { sid: t.sid, customerAddress: customerOf(t.channel), customerKey: t.customerKey ?? null, at: (at ?? new Date()).toISOString() };
      },
      { 404: null },
    );
  }

  operatorResults(transcriptSid: string): Promise<OperatorResultWire[]> {
    return this.call(
      'operator_results',
      async () => {
        const items = await this.twilio.client.intelligence.v2.transcripts(transcriptSid).operatorResults.list({ pageSize: PAGE_SIZE, limit: PAGE_SIZE });
        return items.map((r) => ({
          operator_type: r.operatorType ?? null,
          name: r.name ?? null,
          operator_sid: r.operatorSid ?? null,
          extract_match: r.extractMatch ?? null,
          utterance_match: r.utteranceMatch ?? null,
          predicted_label: r.predictedLabel ?? null,
          normalized_result: r.normalizedResult ?? null,
          text_generation_results: (r.textGenerationResults as unknown) ?? null,
        }));
      },
      { 404: [] },
    );
  }

  /** Calls that walk pages: twice the timeout per attempt. */
  private call<T, A = never>(route: string, work: () => Promise<T>, answers: Readonly<Record<number, A>> = {}): Promise<T | A> {
    return this.twilio.call(route, work, answers, 2);
  }
}

/**
 * The customer's address from a transcript's channel: `participants[]` with `role` "Customer" and
 * `media_participant_id` (a phone number) or `email`
 * (https://www.twilio.com/docs/conversational-intelligence/api/transcript-resource, Channel).
 */
export function customerOf(channel: unknown): string | null {
  const participants = (channel as { participants?: unknown } | null)?.participants;
  if (!Array.isArray(participants)) return null;
  for (const p of participants as Array<Record<string, unknown>>) {
    if (typeof p?.role !== 'string' || p.role.toLowerCase() !== 'customer') continue;
    for (const field of ['media_participant_id', 'email']) {
      const value = p[field];
      if (typeof value === 'string' && value.trim()) return value.trim();
    }
  }
  return null;
}
