import { Body, Controller, HttpCode, Logger, Post, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '../common/public.decorator';
import { validated } from '../common/validated';
import { TwilioSignatureGuard } from '../twilio/twilio-signature.guard';
import { ConversationsIngestService, type ConversationEvent } from './conversations-ingest.service';
import { WebhookMetrics } from '../metrics/webhook-metrics';
import { Deliveries } from './deliveries';
import { SID_PATTERNS, type SidKind } from '../twilio/sids';

const sid = (kind: SidKind) => z.string().regex(SID_PATTERNS[kind]);
const form = z.object({
  EventType: z.string().max(64),
  ConversationSid: sid('conversation'),
  MessageSid: sid('message').optional(),
  ParticipantSid: sid('participant').optional(),
  StateFrom: z.string().max(32).optional(),
  StateTo: z.string().max(32).optional(),
  DateUpdated: z.string().max(64).optional(),
  StateUpdated: z.string().max(64).optional(),
  Body: z.string().max(100_000).optional(),
  Author: z.string().max(256).optional(),
  DateCreated: z.string().max(64).optional(),
  'MessagingBinding.Address': z.string().max(256).optional(),
});
const HANDLED = new Set(['onMessageAdded', 'onConversationAdded', 'onConversationStateUpdated', 'onParticipantAdded']);

/** Twilio Conversations post-event webhook: signature first, then a validated event, then the work. */
@Public()
@Controller('webhooks/conversations')
export class ConversationsWebhookController {
  private readonly logger = new Logger(ConversationsWebhookController.name);

  constructor(
    private readonly ingest: ConversationsIngestService,
    private readonly deliveries: Deliveries,
    private readonly metrics: WebhookMetrics,
  ) {}

  @Post()
  @HttpCode(200)
  @UseGuards(TwilioSignatureGuard)
  async receive(@Body() body: unknown): Promise<{ outcome: string }> {
    const answer = await this.handle(body);
    this.metrics.count('conversations', answer.outcome);
    return answer;
  }

  private async handle(body: unknown): Promise<{ outcome: string }> {
    const params = validated(form, body);
    if (!HANDLED.has(params.EventType)) return { outcome: 'ignored' };
    const deliveryId = signedDeliveryId(params);
    if (!(await this.deliveries.first('conversations', deliveryId))) return { outcome: 'duplicate' };
    const at = params.DateCreated && !Number.isNaN(Date.parse(params.DateCreated)) ? new Date(params.DateCreated).toISOString() : new Date().toISOString();
    const event: ConversationEvent = {
      type: params.EventType as ConversationEvent['type'],
      conversationSid: params.ConversationSid,
      address: params['MessagingBinding.Address'] ?? null,
      message: params.MessageSid ? { sid: params.MessageSid, author: params.Author ?? null, body: params.Body ?? null, createdAt: at } : null,
    };
    const outcome = await this.ingest.apply(event);
    this.logger.log({ eventType: params.EventType, outcome }, 'conversations webhook');
    return { outcome };
  }
}

/**
 * What makes an event itself, from the signed fields only: the event type and the sids it names
 * (a state change also by its states and time). Twilio's I-Twilio-Idempotency-Token is outside
 * the signature: anyone replaying a signed delivery could change it at will.
 */
function signedDeliveryId(params: z.infer<typeof form>): string {
  const what =
    params.MessageSid ??
    params.ParticipantSid ??
    (params.EventType === 'onConversationStateUpdated'
      ? `${params.StateFrom ?? ''}>${params.StateTo ?? ''}@${params.StateUpdated ?? params.DateUpdated ?? ''}`
      : (params['MessagingBinding.Address'] ?? ''));
  return JSON.stringify([params.EventType, params.ConversationSid, what]);
}
