import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppConfig } from '../../config/config';
import { EnrichmentMetrics } from './enrichment-metrics';
import { EnrichmentQueue, type Delivery } from './enrichment-queue';
import { TaskEnricher, type Enrichment } from './task-enricher';

interface Running {
  delivery: Delivery;
  abort: AbortController;
  /** Never rejects. */
  done: Promise<void>;
}

/** Pause after the queue itself failed (Redis down), so a dead Redis is not hammered. */
const QUEUE_RETRY_MS = 1_000;

/**
 * Up to ENRICHMENT_WORKERS jobs at a time, from the app's start to its shutdown. On shutdown no
 * new job is taken; jobs in flight get ENRICHMENT_SHUTDOWN_GRACE_MS to finish, then are aborted
 * (nothing more is written for them) and released to other instances.
 */
@Injectable()
export class EnrichmentWorkers implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(EnrichmentWorkers.name);
  private readonly running = new Map<string, Running>();
  private readonly stopping = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly config: AppConfig,
    private readonly queue: EnrichmentQueue,
    private readonly enricher: TaskEnricher,
    private readonly metrics: EnrichmentMetrics,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.queue.durable) {
      this.logger.warn('REDIS_URL is not set: enrichment jobs wait in process memory and are lost on restart');
    }
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    if (this.running.size === 0) return;
    const grace = new AbortController();
    const finished = Promise.all([...this.running.values()].map((r) => r.done)).then(() => grace.abort());
    await Promise.race([finished, sleep(this.config.enrichment.shutdownGraceMs, undefined, { signal: grace.signal }).catch(() => undefined)]);
    grace.abort();
    for (const { delivery, abort } of this.running.values()) {
      abort.abort();
      await this.settle('release', delivery, () => this.queue.release(delivery));
    }
  }

  private async run(): Promise<void> {
    const stop = this.stopping.signal;
    const stopped = new Promise<void>((resolve) => stop.addEventListener('abort', () => resolve(), { once: true }));
    let queueFailing = false;
    while (!stop.aborted) {
      const free = this.config.enrichment.workers - this.running.size;
      if (free <= 0) {
        await Promise.race([...[...this.running.values()].map((r) => r.done), stopped]);
        continue;
      }
      let deliveries: Delivery[];
      try {
        deliveries = await this.queue.take(free);
      } catch (error) {
        if (!queueFailing) this.logger.warn(`enrichment queue unavailable, retrying every ${QUEUE_RETRY_MS} ms: ${messageOf(error)}`);
        queueFailing = true;
        await sleep(QUEUE_RETRY_MS, undefined, { signal: stop }).catch(() => undefined);
        continue;
      }
      if (queueFailing) this.logger.log('enrichment queue available again');
      queueFailing = false;
      for (const delivery of deliveries) {
        // Taken while stopping: hand it straight back. Already running here: claimed back from ourselves after a long attempt.
        if (stop.aborted) await this.settle('release', delivery, () => this.queue.release(delivery));
        else if (!this.running.has(delivery.id)) this.start(delivery);
      }
    }
  }

  private start(delivery: Delivery): void {
    const abort = new AbortController();
    const done = this.attempt(delivery, abort.signal).finally(() => this.running.delete(delivery.id));
    this.running.set(delivery.id, { delivery, abort, done });
  }

  private async attempt(delivery: Delivery, signal: AbortSignal): Promise<void> {
    let enrichment: Enrichment;
    try {
      enrichment = await this.enricher.enrich(delivery.job.taskSid, signal);
    } catch (error) {
      // Aborted by shutdown: released, not failed.
      if (signal.aborted) return;
      const message = messageOf(error);
      this.metrics.attempted('failed');
      this.logger.warn(`enriching task ${delivery.job.taskSid} failed (attempt ${delivery.attempt} of ${this.config.enrichment.maxAttempts}): ${message}`);
      await this.settle('fail', delivery, () => this.queue.fail(delivery, message));
      return;
    }
    // Released by shutdown meanwhile: whoever takes it next finds the stamp, if it landed.
    if (signal.aborted) return;
    this.metrics.attempted(enrichment.kind, delivery.job.enqueuedAt);
    if (enrichment.kind === 'task_not_found') this.logger.warn(`task ${delivery.job.taskSid} not found: nothing to enrich`);
    if (enrichment.kind === 'stamped' && enrichment.decision.degraded) {
      this.logger.warn(`task ${delivery.job.taskSid} stamped with degraded routing: ${enrichment.decision.degradedReason}`);
    }
    // If this fails the job stays pending; the next attempt finds the stamp and completes it.
    await this.settle('complete', delivery, () => this.queue.complete(delivery));
  }

  private async settle(step: string, delivery: Delivery, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (error) {
      this.logger.warn(`enrichment queue: could not ${step} the job for task ${delivery.job.taskSid}: ${messageOf(error)}`);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
