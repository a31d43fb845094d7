import { Body, HttpCode, Post, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { WebhookMetrics, type WebhookSource } from '../metrics/webhook-metrics';
import { KEEP_RAW_BODY } from './raw-body';
import { TwilioSignatureGuard } from './twilio-signature.guard';

/** What a webhook answers Twilio: what became of the event (also its `cc_webhook_events_total` outcome). */
export interface WebhookAnswer {
  outcome: string;
}

/**
 * A Twilio-signed webhook whose events are counted: `POST` on the controller's path, the
 * signature checked first (`X-Twilio-Signature`; a JSON body is signed through `bodySHA256`, so
 * its raw bytes are kept), then the subclass's `handle`, then one count of its outcome under the
 * source's name. Agent Copilot's and Conversational Intelligence's webhooks are this with their
 * own payload and work.
 */
export abstract class CountedTwilioWebhook {
  protected constructor(
    private readonly source: WebhookSource,
    private readonly metrics: WebhookMetrics,
  ) {}

  @Post()
  @HttpCode(200)
  @RouteConfig(KEEP_RAW_BODY)
  @UseGuards(TwilioSignatureGuard)
  async receive(@Body() body: unknown): Promise<WebhookAnswer> {
    const answer = await this.handle(body);
    this.metrics.count(this.source, answer.outcome);
    return answer;
  }

  /** Validates the event and applies it; throws for a body that is not one (a 4xx, not counted). */
  protected abstract handle(body: unknown): Promise<WebhookAnswer>;
}
