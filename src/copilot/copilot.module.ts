import { Module } from '@nestjs/common';
import { ContextModule } from '../context/context.module';
import { IngestModule } from '../ingest/ingest.module';
import { CopilotIngestService } from './copilot-ingest.service';
import { CopilotWebhookController } from './copilot-webhook.controller';
import { InteractionSource } from './interaction.source';
import { TwilioInteractionSource } from './twilio-interaction.source';

/** Agent Copilot wrap-up notes, kept per customer so the next agent reads what the last one wrote. */
@Module({
  imports: [IngestModule, ContextModule],
  controllers: [CopilotWebhookController],
  providers: [{ provide: InteractionSource, useClass: TwilioInteractionSource }, CopilotIngestService],
})
export class CopilotModule {}
