import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

export type WebhookSource = 'segment' | 'conversations' | 'taskrouter' | 'intelligence' | 'copilot';

/**
 * What became of each webhook event that passed its signature check (refusals are in the HTTP
 * histogram by status): applied, duplicate, ignored, unknown_customer... per source.
 */
@Injectable()
export class WebhookMetrics {
  private readonly events: Counter<'source' | 'outcome'>;

  constructor(registry: Registry) {
    this.events = new Counter({
      name: 'cc_webhook_events_total',
      help: 'Webhook events by source and outcome (Segment: applied, duplicate, unknown_customer, ignored, unsigned; Conversations: the same plus dropped; TaskRouter: enqueued, duplicate, ignored, in_process; Copilot: applied, unchanged, ignored, unknown_interaction, unknown_customer)',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    });
  }

  count(source: WebhookSource, outcome: string, events = 1): void {
    if (events > 0) this.events.inc({ source, outcome }, events);
  }
}
