import { Injectable, Logger } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { EnrichmentQueue, type QueueDepth } from './enrichment-queue';

/** One reading of the queue per scrape, however many gauges ask. */
const DEPTH_READ_MS = 1_000;

/**
 * The enrichment queue seen from Prometheus: how many jobs wait, are in flight (or wait for a
 * retry), are dead-lettered, how old the oldest is; what each attempt came to; and how long a
 * task waited from its task.created to its stamp.
 */
@Injectable()
export class EnrichmentMetrics {
  private readonly logger = new Logger(EnrichmentMetrics.name);
  private readonly outcomes: Counter<'outcome'>;
  private readonly delay: Histogram;
  private reading?: { at: number; depth: Promise<QueueDepth | null> };

  constructor(registry: Registry, queue: EnrichmentQueue) {
    const depth = (): Promise<QueueDepth | null> => {
      if (!this.reading || Date.now() - this.reading.at > DEPTH_READ_MS) {
        const read = queue.depth().catch((error: unknown) => {
          // Redis down: the gauges keep their last values; /readyz says why.
          this.logger.warn(`enrichment queue depth not read: ${(error as Error).message}`);
          return null;
        });
        this.reading = { at: Date.now(), depth: read };
      }
      return this.reading.depth;
    };
    const gauge = (name: string, help: string, value: (d: QueueDepth) => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        async collect() {
          const read = await depth();
          if (read) this.set(value(read));
        },
      });
    gauge('cc_enrichment_jobs_waiting', 'Enrichment jobs no worker has taken yet', (d) => d.waiting);
    gauge('cc_enrichment_jobs_pending', 'Enrichment jobs taken and not finished: in flight, or failed and waiting for a retry', (d) => d.pending);
    gauge('cc_enrichment_dead_letters', 'Enrichment jobs that failed every attempt (kept: the newest 1,000; see the deadLetters query)', (d) => d.deadLetters);
    gauge('cc_enrichment_oldest_job_age_seconds', 'Age of the oldest enrichment job still queued; 0 when none is', (d) =>
      d.oldestEnqueuedAt === null ? 0 : Math.max(0, (Date.now() - d.oldestEnqueuedAt) / 1000),
    );
    this.outcomes = new Counter({
      name: 'cc_enrichment_attempts_total',
      help: 'Enrichment attempts by outcome: stamped, already_stamped, task_not_found, failed (retried later, or dead-lettered after the last attempt)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
    this.delay = new Histogram({
      name: 'cc_enrichment_delay_seconds',
      help: 'From task.created received to the task stamped, queueing and retries included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  }

  attempted(outcome: 'stamped' | 'already_stamped' | 'task_not_found' | 'failed', enqueuedAt?: string): void {
    this.outcomes.inc({ outcome });
    const since = enqueuedAt ? Date.parse(enqueuedAt) : NaN;
    if (outcome === 'stamped' && Number.isFinite(since)) this.delay.observe(Math.max(0, (Date.now() - since) / 1000));
  }
}
