import { Controller, Logger } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '../common/public.decorator';
import { validated } from '../common/validated';
import { Deliveries } from '../ingest/deliveries';
import { WebhookMetrics } from '../metrics/webhook-metrics';
import { CountedTwilioWebhook, type WebhookAnswer } from '../twilio/twilio-webhook';
import { IntelligenceIngestService } from './intelligence-ingest.service';

/**
 * The Intelligence Service's webhook (its `webhook_url`): it announces that a transcript and its
 * operator results are ready, naming them by sid; the results themselves are read through
 * GET /v2/Transcripts/{Sid}/OperatorResults
 * (https://www.twilio.com/docs/conversational-intelligence/onboarding, "Webhook";
 * https://www.twilio.com/docs/conversational-intelligence/api/service-resource, webhook_url).
 * Fields as in Twilio's schema of the same announcement on Event Streams
 * (https://www.twilio.com/docs/events/event-types/engagement-intelligence/transcript):
 * account_sid, service_sid, transcript_sid, plus customer_key and event_type
 * `voice_intelligence_transcript_available`. JSON is signed with `bodySHA256`; a form body
 * like every other Twilio webhook. Unknown fields are ignored, the sids must be well formed.
 */
const payload = z.object({
  account_sid: z
    .string()
    .regex(/^AC[0-9a-fA-F]{32}$/)
    .optional(),
  service_sid: z
    .string()
    .regex(/^GA[0-9a-fA-F]{32}$/)
    .optional(),
  transcript_sid: z.string().regex(/^GT[0-9a-fA-F]{32}$/),
  customer_key: z.string().max(256).nullable().optional(),
  event_type: z.string().max(128).optional(),
});
export const TRANSCRIPT_AVAILABLE = 'voice_intelligence_transcript_available';

@Public()
@Controller('webhooks/intelligence')
export class IntelligenceWebhookController extends CountedTwilioWebhook {
  private readonly logger = new Logger(IntelligenceWebhookController.name);

  constructor(
    private readonly ingest: IntelligenceIngestService,
    private readonly deliveries: Deliveries,
    metrics: WebhookMetrics,
  ) {
    super('intelligence', metrics);
  }

  protected async handle(body: unknown): Promise<WebhookAnswer> {
    const event = validated(payload, body);
    // No event_type: the Service webhook of older accounts; any other type is not ours to read.
    if (event.event_type !== undefined && event.event_type !== TRANSCRIPT_AVAILABLE) return { outcome: 'ignored' };
    if (!(await this.deliveries.first('intelligence', event.transcript_sid))) return { outcome: 'duplicate' };
    let outcome: string;
    try {
      outcome = await this.ingest.apply(event.transcript_sid);
    } catch (error) {
      // Twilio could not be read: the announcement's retry must be done, not taken for a duplicate.
      await this.deliveries.forget('intelligence', event.transcript_sid);
      throw error;
    }
    this.logger.log({ outcome }, 'intelligence webhook');
    return { outcome };
  }
}
