import { Module } from '@nestjs/common';
import { ContextModule } from '../context/context.module';
import { IngestModule } from '../ingest/ingest.module';
import { IntelligenceIngestService } from './intelligence-ingest.service';
import { IntelligenceWebhookController } from './intelligence-webhook.controller';
import { IntelligenceSource } from './intelligence.source';
import { TwilioIntelligenceSource } from './twilio-intelligence.source';

/** Conversational Intelligence results (sentiment, escalation, summaries) kept as customer insights. */
@Module({
  imports: [IngestModule, ContextModule],
  controllers: [IntelligenceWebhookController],
  providers: [{ provide: IntelligenceSource, useClass: TwilioIntelligenceSource }, IntelligenceIngestService],
})
export class IntelligenceModule {}
