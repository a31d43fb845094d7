import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { createTwilioClient, TwilioClient } from './twilio-client';

/** One twilio-node client for the process, rerouted through TWILIO_API_BASE_URL when set. */
@Global()
@Module({
  providers: [{ provide: TwilioClient, useFactory: createTwilioClient, inject: [AppConfig] }],
  exports: [TwilioClient],
})
export class TwilioModule {}
