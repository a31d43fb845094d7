import { Body, Controller, HttpCode, Logger, Post, Req, UseGuards } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { Public } from '../common/public.decorator';
import { DomainError, ErrorCode } from '../common/errors';
import { validated } from '../common/validated';
import { WebhookMetrics } from '../metrics/webhook-metrics';
import { KEEP_RAW_BODY } from '../twilio/raw-body';
import { segmentMessage } from './segment-event';
import { SegmentIngestService, type IngestOutcome } from './segment-ingest.service';
import { SegmentSignatureGuard, segmentSignatureScopeOf } from './segment-signature.guard';

/** Segment's batch form carries many events; more than this in one delivery is refused. */
const MAX_BATCH = 1_000;

/** The Segment webhook destination: signature first, then a validated message, then the work. */
@Public()
@Controller('webhooks/segment')
export class SegmentWebhookController {
  private readonly logger = new Logger(SegmentWebhookController.name);

  constructor(
    private readonly ingest: SegmentIngestService,
    private readonly metrics: WebhookMetrics,
  ) {}

  @Post()
  @HttpCode(200)
  @RouteConfig(KEEP_RAW_BODY)
  @UseGuards(SegmentSignatureGuard)
  async receive(@Body() body: unknown, @Req() request: FastifyRequest): Promise<{ received: number; outcomes: Record<IngestOutcome | 'unsigned', number> }> {
    const items = Array.isArray(body) ? body : [body];
    if (items.length === 0 || items.length > MAX_BATCH) throw new DomainError(ErrorCode.BAD_REQUEST, `expected 1 to ${MAX_BATCH} Segment messages`);
    // Signed over the first element alone (Actions batch mode): the rest is not authenticated,
    // so it is neither read nor remembered, only counted.
    const signed = segmentSignatureScopeOf(request) === 'body' ? items : items.slice(0, 1);
    const unsigned = items.length - signed.length;
    const messages = signed.map((item, index) => validated(segmentMessage, item, `message ${index}: `));
    const outcomes: Record<IngestOutcome | 'unsigned', number> = { applied: 0, duplicate: 0, unknown_customer: 0, ignored: 0, erased: 0, unsigned };
    // In order: a batch's identify and track about one customer apply as sent.
    for (const message of messages) outcomes[await this.ingest.apply(message)] += 1;
    if (unsigned > 0)
      this.logger.warn({ unsigned }, 'segment webhook: batch elements outside the signature refused (sign the whole body, or turn batching off)');
    this.logger.log({ outcomes }, 'segment webhook');
    for (const [outcome, count] of Object.entries(outcomes)) this.metrics.count('segment', outcome, count);
    return { received: items.length, outcomes };
  }
}
