import { Logger } from '@nestjs/common';
import {
  EnrichmentQueue,
  type DeadLetter,
  type DeadLetterPage,
  type Delivery,
  type EnrichmentJob,
  type QueueDepth,
  type QueueSettings,
} from './enrichment-queue';

/** When a job was enqueued, ms since the epoch (now, for a job whose stamp does not parse). */
const enqueuedAt = (job: EnrichmentJob) => Date.parse(job.enqueuedAt) || Date.now();

interface Waiting {
  id: string;
  job: EnrichmentJob;
  /** Attempts made so far. */
  attempts: number;
}

/** How long `take` waits for a job before answering empty, so a stopping worker is never held long. */
const IDLE_WAIT_MS = 250;
const DEAD_LETTERS_KEPT = 1_000;

/**
 * The queue without Redis (embedded mode): the same semantics within one process (dedupe,
 * retries after the claim-idle time, dead letters), but jobs live in memory and a restart loses
 * them. Each instance works only on the tasks whose events reached it.
 */
export class MemoryEnrichmentQueue extends EnrichmentQueue {
  readonly durable = false;
  private readonly logger = new Logger(MemoryEnrichmentQueue.name);
  private readonly waiting: Waiting[] = [];
  /** dedupe key → when it expires; in insertion order, which is expiry order (one TTL for all). */
  private readonly seen = new Map<string, number>();
  private readonly dead: DeadLetter[] = [];
  /** Taken and not finished (in flight, or failed and waiting for its retry), by id → enqueued at. */
  private readonly taken = new Map<string, number>();
  private wake: (() => void) | null = null;
  private sequence = 0;

  constructor(private readonly settings: QueueSettings) {
    super();
  }

  async enqueue(job: EnrichmentJob, dedupeKey: string): Promise<boolean> {
    const now = Date.now();
    this.forgetExpired(now);
    if (this.seen.has(dedupeKey)) return false;
    this.seen.set(dedupeKey, now + this.settings.dedupeTtlMs);
    this.push({ id: String(++this.sequence), job, attempts: 0 });
    return true;
  }

  async take(max: number): Promise<Delivery[]> {
    if (this.waiting.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, IDLE_WAIT_MS);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = null;
    }
    const deliveries = this.waiting.splice(0, max).map((w) => ({ id: w.id, job: w.job, attempt: w.attempts + 1 }));
    for (const d of deliveries) this.taken.set(d.id, enqueuedAt(d.job));
    return deliveries;
  }

  async complete(delivery: Delivery): Promise<void> {
    this.taken.delete(delivery.id);
  }

  async fail(delivery: Delivery, error: string): Promise<void> {
    if (delivery.attempt >= this.settings.maxAttempts) {
      this.taken.delete(delivery.id);
      this.logger.error(`enrichment of task ${delivery.job.taskSid} dead-lettered after ${delivery.attempt} attempts: ${error}`);
      this.dead.unshift({ id: delivery.id, job: delivery.job, attempts: delivery.attempt, error, failedAt: new Date().toISOString() });
      this.dead.length = Math.min(this.dead.length, DEAD_LETTERS_KEPT);
      return;
    }
    // The retry delay matches the Redis queue's, where a failed job waits to be claimed again.
    setTimeout(() => {
      this.taken.delete(delivery.id);
      this.push({ id: delivery.id, job: delivery.job, attempts: delivery.attempt });
    }, this.settings.claimIdleMs).unref();
  }

  async release(delivery: Delivery): Promise<void> {
    this.taken.delete(delivery.id);
    this.push({ id: delivery.id, job: delivery.job, attempts: delivery.attempt });
  }

  async deadLetters(limit: number): Promise<DeadLetterPage> {
    return { total: this.dead.length, items: this.dead.slice(0, limit) };
  }

  async depth(): Promise<QueueDepth> {
    const enqueued = [...this.taken.values(), ...this.waiting.map((w) => enqueuedAt(w.job))];
    return {
      waiting: this.waiting.length,
      pending: this.taken.size,
      deadLetters: this.dead.length,
      oldestEnqueuedAt: enqueued.length > 0 ? Math.min(...enqueued) : null,
    };
  }

  private push(waiting: Waiting): void {
    this.waiting.push(waiting);
    this.wake?.();
  }

  private forgetExpired(now: number): void {
    for (const [key, expiresAt] of this.seen) {
      if (expiresAt > now) break;
      this.seen.delete(key);
    }
  }
}
