import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { keepRawBodies } from '../twilio/raw-body';
import { ConversationsModule } from '../conversations/conversations.module';
import { ChangeAnnouncer } from './change-announcer';
import { ConversationsIngestService } from './conversations-ingest.service';
import { ConversationsWebhookController } from './conversations-webhook.controller';
import { Deliveries } from './deliveries';
import { SegmentIngestService } from './segment-ingest.service';
import { SegmentWebhookController } from './segment-webhook.controller';
import { SegmentSignatureGuard } from './segment-signature.guard';

/** Webhooks from Segment and Twilio Conversations that keep cached context current. */
@Module({
  imports: [ConversationsModule],
  controllers: [SegmentWebhookController, ConversationsWebhookController],
  providers: [SegmentIngestService, ConversationsIngestService, SegmentSignatureGuard, Deliveries, ChangeAnnouncer],
  exports: [Deliveries, ChangeAnnouncer],
})
export class IngestModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /** Segment signs the body's bytes: keep them for the routes that ask. */
  onModuleInit(): void {
    keepRawBodies(this.adapterHost.httpAdapter.getInstance<FastifyInstance>());
  }
}
