import { Global, Module } from '@nestjs/common';
import { BudgetMetrics } from './budget-metrics';
import { ProfileApiBudget } from './profile-api-budget';
import { UpstreamMetrics } from './upstream-metrics';

/** What every upstream adapter shares: call metrics, health, and the Profile API budget (with its metrics). */
@Global()
@Module({ providers: [UpstreamMetrics, ProfileApiBudget, BudgetMetrics], exports: [UpstreamMetrics, ProfileApiBudget] })
export class UpstreamModule {}
