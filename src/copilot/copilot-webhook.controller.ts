import { Controller, Logger } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '../common/public.decorator';
import { validated } from '../common/validated';
import { WebhookMetrics } from '../metrics/webhook-metrics';
import { SID_PATTERNS, type SidKind } from '../twilio/sids';
import { CountedTwilioWebhook, type WebhookAnswer } from '../twilio/twilio-webhook';
import { CopilotIngestService } from './copilot-ingest.service';
import type { NoteDelivery } from './note-delivery';

const sid = (kind: SidKind) => z.string().regex(SID_PATTERNS[kind], `not a ${kind} sid`);
const optionalSid = (kind: SidKind) => sid(kind).nullable().optional();
const text = (max: number) => z.string().max(max).nullable().optional();

/**
 * Agent Copilot's wrap-up notes webhook (https://www.twilio.com/docs/flex/developer/copilot-webhooks,
 * Public Beta): `note_created` when a note is created (generated, or typed by the agent) and
 * `note_updated` when the agent clicks Complete, with the agent's edits. The page's example
 * payload: `sid` (KQ…), `event_type`, `instance_sid` (GO…), `interaction_sid` (KD…), `channel_sid`
 * (UO…), `participant_sid` (UT…), `profile_connect_sid` (YI…), `summary`, `sentiment`,
 * `disposition_code_sid`, `generated_summary`, `detected_language`, `generated_sentiment` and
 * `generated_disposition…` fields. The page asks to "validate the request against the signature":
 * Twilio's webhook signature, `X-Twilio-Signature` (JSON bodies with `bodySHA256`, as every Twilio
 * JSON webhook; a form body like the others). The Console also offers HTTP GET; the service takes
 * POST. Unknown fields are ignored; the sids must be well formed.
 *
 * Not read: `profile_connect_sid`. It names the customer's profile in Twilio's Profile Connector
 * (Flex Unified Profiles), whose API is not part of the Flex v1 OpenAPI document this service
 * checks its calls against; the Interaction, which is, names the customer through its task.
 */
const payload = z.object({
  sid: sid('note'),
  event_type: z.string().max(64),
  instance_sid: optionalSid('flexInstance'),
  interaction_sid: sid('interaction'),
  channel_sid: optionalSid('interactionChannel'),
  participant_sid: optionalSid('interactionParticipant'),
  profile_connect_sid: text(64),
  summary: text(100_000),
  generated_summary: text(100_000),
  sentiment: text(256),
  generated_sentiment: text(256),
  disposition_code_sid: text(64),
  detected_language: text(64),
});
const NOTE_EVENTS = new Set(['note_created', 'note_updated']);

@Public()
@Controller('webhooks/copilot')
export class CopilotWebhookController extends CountedTwilioWebhook {
  private readonly logger = new Logger(CopilotWebhookController.name);

  constructor(
    private readonly ingest: CopilotIngestService,
    metrics: WebhookMetrics,
  ) {
    super('copilot', metrics);
  }

  protected async handle(body: unknown): Promise<WebhookAnswer> {
    const event = validated(payload, body);
    if (!NOTE_EVENTS.has(event.event_type)) return { outcome: 'ignored' };
    // No delivery memory: the note's record is idempotent itself (a redelivery is 'unchanged'), so a
    // delivery that failed half way can be delivered again.
    const outcome = await this.ingest.apply(event as NoteDelivery);
    this.logger.log({ eventType: event.event_type, outcome }, 'copilot webhook');
    return { outcome };
  }
}
