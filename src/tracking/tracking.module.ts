import { Global, Module } from '@nestjs/common';
import { TrackingService } from './tracking.service';

/** Segment track events for data teams (docs/tracking-plan.md); global, as every feature emits some. */
@Global()
@Module({ providers: [TrackingService], exports: [TrackingService] })
export class TrackingModule {}
