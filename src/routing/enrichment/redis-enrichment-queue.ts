import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import {
  EnrichmentQueue,
  parseJob,
  type DeadLetter,
  type DeadLetterPage,
  type Delivery,
  type EnrichmentJob,
  type QueueDepth,
  type QueueSettings,
} from './enrichment-queue';
import { CONSUMER_GROUP, queueKeys } from './queue-keys';

type Client = Redis | Cluster;
type StreamEntry = [id: string, fields: string[] | null];

export interface RedisQueueSettings extends QueueSettings {
  keyPrefix: string;
  /** This instance's name in the consumer group; unique per process. */
  consumer: string;
  /** How long one read waits for new jobs. */
  blockMs: number;
}

/** Bounds the dead-letter stream; the newest are kept. */
const DEAD_LETTERS_KEPT = 10_000;

// Dedupe and enqueue in one step: a duplicate never adds a job, and a key is never set for a job that was not added.
const ENQUEUE_SCRIPT = `
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
end
return false`;

// Resets the idle time of the jobs this consumer still works on (XCLAIM JUSTID leaves the delivery
// count alone), so no claim sweep, its own or another instance's, takes them back as a new attempt.
// A job another consumer has claimed meanwhile is left to it.
const RENEW_SCRIPT = `
for i = 3, #ARGV do
  local entry = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)[1]
  if entry and entry[2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  end
end
return 0`;

interface Scripted {
  enqueueEnrichmentJob(seenKey: string, jobsKey: string, ttlMs: number, job: string): Promise<string | null>;
  renewEnrichmentJobs(jobsKey: string, group: string, consumer: string, ...ids: string[]): Promise<number>;
}

/**
 * A Redis stream read through a consumer group: a job stays pending (in the group's PEL) until
 * a worker acknowledges it, so a job survives a restart and the jobs of a crashed instance are
 * claimed (XAUTOCLAIM) by another once idle for ENRICHMENT_CLAIM_IDLE_MS. The delivery count
 * Redis keeps per job is the attempt number; past ENRICHMENT_MAX_ATTEMPTS a job moves to the
 * dead-letter stream.
 */
export class RedisEnrichmentQueue extends EnrichmentQueue {
  readonly durable = true;
  private readonly logger = new Logger(RedisEnrichmentQueue.name);
  private readonly keys: ReturnType<typeof queueKeys>;
  private readonly sweepEveryMs: number;
  private groupReady = false;
  private claimCursor = '0-0';
  private nextSweepAt = 0;
  /** Handed out here and not yet completed, failed or released: attempts in flight. */
  private readonly inFlight = new Set<string>();
  /** Failed or released here and left pending on purpose, for a claim sweep to hand out again. */
  private readonly leftPending = new Set<string>();
  /**
   * A read failed (a command timeout, typically under load): Redis may have delivered jobs to this
   * consumer all the same, and its reply was dropped. They are pending to us but nobody runs them.
   */
  private readMayHaveLost = false;
  private renewTimer?: NodeJS.Timeout;

  /** `reader` serves the blocking reads alone: a blocked connection cannot send anything else. */
  constructor(
    private readonly commands: Client,
    private readonly reader: Client,
    private readonly settings: RedisQueueSettings,
  ) {
    super();
    this.keys = queueKeys(settings.keyPrefix);
    this.sweepEveryMs = Math.min(Math.max(settings.claimIdleMs / 2, 100), 5_000);
    commands.defineCommand('enqueueEnrichmentJob', { numberOfKeys: 2, lua: ENQUEUE_SCRIPT });
    commands.defineCommand('renewEnrichmentJobs', { numberOfKeys: 1, lua: RENEW_SCRIPT });
  }

  async enqueue(job: EnrichmentJob, dedupeKey: string): Promise<boolean> {
    const scripted = this.commands as unknown as Scripted;
    const id = await scripted.enqueueEnrichmentJob(this.keys.seen(dedupeKey), this.keys.jobs, this.settings.dedupeTtlMs, JSON.stringify(job));
    return id !== null;
  }

  async take(max: number): Promise<Delivery[]> {
    try {
      await this.ensureGroup();
      if (this.readMayHaveLost) {
        this.readMayHaveLost = false;
        const recovered = await this.recoverLostReads(max);
        if (recovered.length > 0) return recovered;
      }
      if (Date.now() >= this.nextSweepAt) {
        this.nextSweepAt = Date.now() + this.sweepEveryMs;
        // An attempt may outlast the claim-idle time (a slow upstream, a loaded machine): renewed
        // first, it is never claimed back from under its running worker and counted twice.
        await this.renew();
        const claimed = await this.claim(max);
        if (claimed.length > 0) return claimed;
      }
      return await this.read(max);
    } catch (error) {
      // The stream or group was deleted under us (FLUSHDB, a failover to an empty replica).
      if (/NOGROUP/.test(String((error as Error)?.message))) this.groupReady = false;
      throw error;
    }
  }

  async complete(delivery: Delivery): Promise<void> {
    this.inFlight.delete(delivery.id);
    this.leftPending.delete(delivery.id);
    await exec(this.commands.multi().xack(this.keys.jobs, CONSUMER_GROUP, delivery.id).xdel(this.keys.jobs, delivery.id));
  }

  async fail(delivery: Delivery, error: string): Promise<void> {
    // Otherwise the job stays pending, and the claim sweep hands it out again once it is idle.
    this.inFlight.delete(delivery.id);
    if (delivery.attempt >= this.settings.maxAttempts) await this.deadLetter(delivery.id, delivery.job, delivery.attempt, error);
    else this.leftPending.add(delivery.id);
  }

  async release(delivery: Delivery): Promise<void> {
    this.inFlight.delete(delivery.id);
    this.leftPending.add(delivery.id);
    // Marked idle for the whole claim time, so the next sweep anywhere takes it; JUSTID leaves the delivery count alone.
    await this.commands.xclaim(this.keys.jobs, CONSUMER_GROUP, this.settings.consumer, 0, delivery.id, 'IDLE', this.settings.claimIdleMs, 'JUSTID');
  }

  async deadLetters(limit: number): Promise<DeadLetterPage> {
    const [total, entries] = await Promise.all([this.commands.xlen(this.keys.dead), this.commands.xrevrange(this.keys.dead, '+', '-', 'COUNT', limit)]);
    return { total, items: entries.map(([id, fields]) => toDeadLetter(id, fields)) };
  }

  async depth(): Promise<QueueDepth> {
    // Finished jobs are deleted from the stream: what is left is waiting or pending.
    const [length, pending, dead, oldest] = await Promise.all([
      this.commands.xlen(this.keys.jobs),
      (this.commands.xpending(this.keys.jobs, CONSUMER_GROUP) as Promise<[number, ...unknown[]]>).then(
        ([count]) => Number(count),
        () => 0, // no group yet: nothing was ever taken
      ),
      this.commands.xlen(this.keys.dead),
      this.commands.xrange(this.keys.jobs, '-', '+', 'COUNT', 1),
    ]);
    // A stream id starts with the ms it was added at.
    const oldestEnqueuedAt = oldest.length > 0 ? Number(oldest[0][0].split('-')[0]) : null;
    return { waiting: Math.max(0, length - pending), pending, deadLetters: dead, oldestEnqueuedAt };
  }

  private async ensureGroup(): Promise<void> {
    if (this.groupReady) return;
    try {
      // From the start of the stream: jobs enqueued before any worker ever ran are not skipped.
      await this.commands.xgroup('CREATE', this.keys.jobs, CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!/BUSYGROUP/.test(String((error as Error)?.message))) throw error;
    }
    this.groupReady = true;
  }

  private async renew(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const scripted = this.commands as unknown as Scripted;
    await scripted.renewEnrichmentJobs(this.keys.jobs, CONSUMER_GROUP, this.settings.consumer, ...this.inFlight);
  }

  /**
   * Renews the attempts in flight on a timer as well: a worker whose slots are all busy takes
   * nothing (so no sweep runs in take) for as long as its attempts last.
   */
  private keepRenewing(): void {
    if (this.renewTimer || this.inFlight.size === 0) return;
    this.renewTimer = setTimeout(() => {
      void this.renew()
        .catch(() => undefined) // the next take or tick tries again
        .finally(() => {
          this.renewTimer = undefined;
          if ((this.commands as { status?: string }).status !== 'end') this.keepRenewing();
        });
    }, this.sweepEveryMs);
    this.renewTimer.unref();
  }

  /** Jobs pending to this consumer that were never handed out here: the reply that carried them was lost. */
  private async recoverLostReads(max: number): Promise<Delivery[]> {
    const pending = (await this.commands.xpending(this.keys.jobs, CONSUMER_GROUP, '-', '+', 1_000, this.settings.consumer)) as Array<
      [id: string, consumer: string, idleMs: number, deliveries: number]
    >;
    const ours = new Set(pending.map(([id]) => id));
    for (const id of this.leftPending) if (!ours.has(id)) this.leftPending.delete(id);
    const lost = pending.filter(([id]) => !this.inFlight.has(id) && !this.leftPending.has(id)).slice(0, max);
    const entries: Array<{ entry: StreamEntry; deliveries: number }> = [];
    for (const [id, , , deliveries] of lost) {
      const [entry] = (await this.commands.xrange(this.keys.jobs, id, id)) as StreamEntry[];
      entries.push({ entry: entry ?? [id, null], deliveries: Number(deliveries) });
    }
    if (entries.length > 0) this.logger.warn(`enrichment queue: ${entries.length} job(s) whose read reply was lost taken up again`);
    return this.deliveries(entries);
  }

  private async read(max: number): Promise<Delivery[]> {
    const reply = (await this.reader
      .xreadgroup('GROUP', CONSUMER_GROUP, this.settings.consumer, 'COUNT', max, 'BLOCK', this.settings.blockMs, 'STREAMS', this.keys.jobs, '>')
      .catch((error: unknown) => {
        this.readMayHaveLost = true;
        throw error;
      })) as Array<[string, StreamEntry[]]> | null;
    const entries = reply?.[0]?.[1] ?? [];
    return this.deliveries(entries.map((entry) => ({ entry, deliveries: 1 })));
  }

  private async claim(max: number): Promise<Delivery[]> {
    const [cursor, entries] = (await this.commands.xautoclaim(
      this.keys.jobs,
      CONSUMER_GROUP,
      this.settings.consumer,
      this.settings.claimIdleMs,
      this.claimCursor,
      'COUNT',
      max,
    )) as [string, StreamEntry[]];
    this.claimCursor = cursor;
    if (entries.length === 0) return [];
    // XAUTOCLAIM does not say how often a job was delivered; the PEL does (counting this claim).
    const pending = (await Promise.all(entries.map(([id]) => this.commands.xpending(this.keys.jobs, CONSUMER_GROUP, id, id, 1)))) as Array<
      Array<[string, string, number, number]>
    >;
    return this.deliveries(entries.map((entry, i) => ({ entry, deliveries: Number(pending[i][0]?.[3] ?? 1) })));
  }

  /**
   * Past the last attempt a job goes to the dead letters. Entries that hold no readable job (not
   * written by this service) are dropped, loudly, rather than handed out forever.
   */
  private async deliveries(entries: Array<{ entry: StreamEntry; deliveries: number }>): Promise<Delivery[]> {
    const out: Delivery[] = [];
    for (const { entry, deliveries } of entries) {
      const [id, fields] = entry;
      const job = parseJob(fieldOf(fields, 'job'));
      if (!job) {
        this.logger.error(`enrichment queue: dropping entry ${id}, which holds no readable job`);
        await exec(this.commands.multi().xack(this.keys.jobs, CONSUMER_GROUP, id).xdel(this.keys.jobs, id));
      } else if (deliveries > this.settings.maxAttempts) {
        await this.deadLetter(id, job, deliveries - 1, 'the last attempt was interrupted (instance stopped or lost)');
      } else {
        this.inFlight.add(id);
        this.leftPending.delete(id);
        out.push({ id, job, attempt: deliveries });
      }
    }
    this.keepRenewing();
    return out;
  }

  private async deadLetter(id: string, job: EnrichmentJob, attempts: number, error: string): Promise<void> {
    this.leftPending.delete(id);
    const failedAt = new Date().toISOString();
    this.logger.error(`enrichment of task ${job.taskSid} dead-lettered after ${attempts} attempts: ${error}`);
    await exec(
      this.commands
        .multi()
        .xadd(
          this.keys.dead,
          'MAXLEN',
          '~',
          DEAD_LETTERS_KEPT,
          '*',
          'id',
          id,
          'job',
          JSON.stringify(job),
          'attempts',
          attempts,
          'error',
          error,
          'failedAt',
          failedAt,
        )
        .xack(this.keys.jobs, CONSUMER_GROUP, id)
        .xdel(this.keys.jobs, id),
    );
  }
}

function fieldOf(fields: string[] | null, name: string): string | null {
  if (!fields) return null;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return null;
}

function toDeadLetter(id: string, fields: string[]): DeadLetter {
  return {
    id: fieldOf(fields, 'id') ?? id,
    job: parseJob(fieldOf(fields, 'job')) ?? { taskSid: '', eventSid: null, enqueuedAt: '' },
    attempts: Number(fieldOf(fields, 'attempts') ?? 0),
    error: fieldOf(fields, 'error') ?? '',
    failedAt: fieldOf(fields, 'failedAt') ?? new Date(0).toISOString(),
  };
}

/** A MULTI's replies carry per-command errors instead of rejecting; surface the first. */
async function exec(multi: { exec(): Promise<Array<[Error | null, unknown]> | null> }): Promise<void> {
  const replies = await multi.exec();
  if (!replies) throw new Error('Redis discarded the transaction');
  const failed = replies.find(([error]) => error);
  if (failed?.[0]) throw failed[0];
}
