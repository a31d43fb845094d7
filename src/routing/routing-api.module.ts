import { Module } from '@nestjs/common';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { RedisConnection } from '../cache/redis-connection';
import { AppConfig } from '../config/config';
import { ContextModule } from '../context/context.module';
import { TasksModule } from '../tasks/tasks.module';
import { RawBodyCapture } from '../twilio/raw-body';
import { CustomerRouting } from './customer-routing.service';
import { EnrichmentMetrics } from './enrichment/enrichment-metrics';
import { EnrichmentQueue } from './enrichment/enrichment-queue';
import { EnrichmentWorkers } from './enrichment/enrichment-workers';
import { EnrichmentResolver } from './enrichment/enrichment.resolver';
import { MemoryEnrichmentQueue } from './enrichment/memory-enrichment-queue';
import { RedisEnrichmentQueue } from './enrichment/redis-enrichment-queue';
import { TaskEnricher } from './enrichment/task-enricher';
import { TaskRouterWebhookController } from './enrichment/taskrouter-webhook.controller';
import { RoutingAttributesController } from './routing-attributes.controller';
import { RoutingModule } from './routing.module';
import { CustomerContextRoutingResolver, RoutingResolver } from './routing.resolver';

function createEnrichmentQueue(config: AppConfig, redis: RedisConnection): EnrichmentQueue {
  const { maxAttempts, claimIdleMs, dedupeTtlMs } = config.enrichment;
  if (!redis.enabled) return new MemoryEnrichmentQueue({ maxAttempts, claimIdleMs, dedupeTtlMs });
  return new RedisEnrichmentQueue(redis.create('queue'), redis.create('queue-reader'), {
    maxAttempts,
    claimIdleMs,
    dedupeTtlMs,
    keyPrefix: config.redis.keyPrefix,
    consumer: `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    // The connections' command timeout applies to blocking reads too: block for less.
    blockMs: Math.min(Math.max(Math.floor(config.redis.commandTimeoutMs / 2), 50), 5_000),
  });
}

/**
 * Routing for its callers: TaskRouter tasks stamped through a durable queue (webhook, workers,
 * enrichTask), Studio and Functions through /routing/attributes, routingPreview, and
 * CustomerContext.routing.
 */
@Module({
  imports: [ContextModule, RoutingModule, TasksModule],
  controllers: [TaskRouterWebhookController, RoutingAttributesController],
  providers: [
    CustomerRouting,
    TaskEnricher,
    EnrichmentWorkers,
    EnrichmentMetrics,
    EnrichmentResolver,
    RoutingResolver,
    CustomerContextRoutingResolver,
    RawBodyCapture,
    { provide: EnrichmentQueue, useFactory: createEnrichmentQueue, inject: [AppConfig, RedisConnection] },
  ],
})
export class RoutingApiModule {}
