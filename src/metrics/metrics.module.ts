import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { CacheMetrics } from './cache-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsServer } from './metrics-server';
import { createRegistry } from './registry';
import { WebhookMetrics } from './webhook-metrics';
import { RequestMetrics } from './request-metrics';

/**
 * Prometheus metrics at GET /metrics from one registry: a module adds its own by injecting
 * `Registry` (prom-client) and passing it in `registers` (docs/operations.md). With METRICS_PORT
 * they are served on that port instead.
 */
@Global()
@Module({
  controllers: [MetricsController],
  providers: [{ provide: Registry, useFactory: createRegistry }, MetricsServer, CacheMetrics, RequestMetrics, WebhookMetrics],
  exports: [Registry, CacheMetrics, RequestMetrics, WebhookMetrics],
})
export class MetricsModule {}
