import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { BudgetMetrics } from './budget-metrics';
import { CacheMetrics } from './cache-metrics';
import { MetricsController } from './metrics.controller';
import { createRegistry } from './registry';
import { WebhookMetrics } from './webhook-metrics';
import { RequestMetrics } from './request-metrics';

/**
 * Prometheus metrics at GET /metrics from one registry: a module adds its own by injecting
 * `Registry` (prom-client) and passing it in `registers` (docs/operations.md).
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: Registry, useFactory: createRegistry }, CacheMetrics, RequestMetrics, BudgetMetrics, WebhookMetrics],
  exports: [Registry, CacheMetrics, RequestMetrics, WebhookMetrics],
})
export class MetricsModule {}
