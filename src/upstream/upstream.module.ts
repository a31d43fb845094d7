import { Global, Module } from '@nestjs/common';
import { ProfileApiBudget } from './profile-api-budget';
import { UpstreamMetrics } from './upstream-metrics';

/** What every upstream adapter shares: call metrics, health, and the Profile API budget. */
@Global()
@Module({ providers: [UpstreamMetrics, ProfileApiBudget], exports: [UpstreamMetrics, ProfileApiBudget] })
export class UpstreamModule {}
