import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/config';
import { createTwilioClient, TwilioClient } from './twilio-client';
import { TwilioCalls } from './twilio-calls';

/** One twilio-node client for the process, rerouted through TWILIO_API_BASE_URL when set; the adapters call it through `TwilioCalls`. */
@Global()
@Module({
  providers: [{ provide: TwilioClient, useFactory: createTwilioClient, inject: [AppConfig] }, TwilioCalls],
  exports: [TwilioClient, TwilioCalls],
})
export class TwilioModule {}
