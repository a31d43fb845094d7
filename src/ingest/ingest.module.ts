import { Module } from '@nestjs/common';
import { RawBodyCapture } from '../twilio/raw-body';
import { ConversationsModule } from '../conversations/conversations.module';
import { PrivacyModule } from '../privacy/privacy.module';
import { ChangeAnnouncer } from './change-announcer';
import { ConversationsIngestService } from './conversations-ingest.service';
import { ConversationsWebhookController } from './conversations-webhook.controller';
import { Deliveries } from './deliveries';
import { SegmentIngestService } from './segment-ingest.service';
import { SegmentWebhookController } from './segment-webhook.controller';
import { SegmentSignatureGuard } from './segment-signature.guard';

/** Webhooks from Segment and Twilio Conversations that keep cached context current. */
@Module({
  imports: [ConversationsModule, PrivacyModule],
  controllers: [SegmentWebhookController, ConversationsWebhookController],
  // RawBodyCapture: Segment signs the body's bytes; they are kept for the routes that ask.
  providers: [SegmentIngestService, ConversationsIngestService, SegmentSignatureGuard, Deliveries, ChangeAnnouncer, RawBodyCapture],
  exports: [Deliveries, ChangeAnnouncer],
})
export class IngestModule {}
