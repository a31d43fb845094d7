/** One task to stamp, as the TaskRouter webhook enqueued it. */
export interface EnrichmentJob {
  taskSid: string;
  /** The TaskRouter event (EventSid) that asked for it; null when enqueued otherwise. */
  eventSid: string | null;
  enqueuedAt: string;
}

/** A job handed to a worker. `attempt` counts from 1 and includes interrupted attempts. */
export interface Delivery {
  id: string;
  job: EnrichmentJob;
  attempt: number;
}

export interface DeadLetter {
  id: string;
  job: EnrichmentJob;
  attempts: number;
  error: string;
  failedAt: string;
}

/** How far behind the queue is, for metrics. */
export interface QueueDepth {
  /** Jobs no worker has taken yet. */
  waiting: number;
  /** Jobs taken and not finished: in flight, or failed and waiting to be retried. */
  pending: number;
  deadLetters: number;
  /** When the oldest job still queued (waiting or pending) was enqueued, ms since the epoch. */
  oldestEnqueuedAt: number | null;
}

export interface DeadLetterPage {
  total: number;
  /** Newest first. */
  items: DeadLetter[];
}

/**
 * Where enrichment jobs wait for a worker: Redis streams with a consumer group (durable, shared
 * by every instance), or a list in process memory without Redis (lost on restart).
 */
export abstract class EnrichmentQueue {
  abstract readonly durable: boolean;

  /** False when a job with this dedupe key was enqueued within ENRICHMENT_DEDUPE_TTL_MS. */
  abstract enqueue(job: EnrichmentJob, dedupeKey: string): Promise<boolean>;

  /**
   * Up to `max` jobs for this instance: new ones, and ones a worker took but has not finished
   * for ENRICHMENT_CLAIM_IDLE_MS (it crashed, or failed and left the job to be retried).
   * Waits a short while when there are none; may answer empty.
   */
  abstract take(max: number): Promise<Delivery[]>;

  abstract complete(delivery: Delivery): Promise<void>;

  /** A failed attempt: retried after the claim-idle time, or dead-lettered if it was the last. */
  abstract fail(delivery: Delivery, error: string): Promise<void>;

  /** An attempt interrupted by shutdown: handed back so another instance takes it at once. */
  abstract release(delivery: Delivery): Promise<void>;

  abstract deadLetters(limit: number): Promise<DeadLetterPage>;

  abstract depth(): Promise<QueueDepth>;
}

export interface QueueSettings {
  maxAttempts: number;
  claimIdleMs: number;
  dedupeTtlMs: number;
}

export function parseJob(text: string | undefined | null): EnrichmentJob | null {
  try {
    const value = JSON.parse(text ?? '') as Partial<EnrichmentJob> | null;
    if (typeof value?.taskSid !== 'string') return null;
    return { taskSid: value.taskSid, eventSid: typeof value.eventSid === 'string' ? value.eventSid : null, enqueuedAt: String(value.enqueuedAt ?? '') };
  } catch {
    return null;
  }
}
