import { Injectable, Logger } from '@nestjs/common';
import { ErrorCode, UpstreamError } from '../../common/errors';
import { AppConfig } from '../../config/config';
import { lookupFromTaskAttributes } from '../../identity/identity';
import { TaskSource } from '../../tasks/task.source';
import { CustomerRouting, type CustomerFacts } from '../customer-routing.service';
import { applyToTaskAttributes } from '../rules';
import { TrackingService } from '../../tracking/tracking.service';
import { RoutingService, type Decision } from '../routing.service';

export type Enrichment =
  | { kind: 'stamped'; decision: Decision }
  /** The namespace was on the task already: nothing written. `attributes` is our part of what is there. */
  | { kind: 'already_stamped'; attributes: Record<string, unknown> }
  | { kind: 'task_not_found' };

/** A task that changes under us this often is being rewritten in a loop; the queue retries later. */
const MAX_STALE_WRITES = 5;

/**
 * Stamps a task with its routing attributes: read the task and its ETag, decide, merge (every
 * other attribute kept as it was), write with If-Match, and on 412 read again and redo the merge.
 * The queue's workers and the `enrichTask` mutation both come through here.
 */
@Injectable()
export class TaskEnricher {
  private readonly logger = new Logger(TaskEnricher.name);

  constructor(
    private readonly config: AppConfig,
    private readonly tasks: TaskSource,
    private readonly router: RoutingService,
    private readonly routing: CustomerRouting,
    private readonly tracking: TrackingService,
  ) {}

  /**
   * The deadline counts from the start and bounds the wait for customer data; the TaskRouter
   * read and write are bounded by the upstream timeouts, since there is no stamp without them.
   * `signal` aborted (a worker stopping): nothing is written from then on.
   */
  /** What the data team sees of a stamp: attribute keys and rule names, never values. */
  private track(taskSid: string, channel: string | null, facts: CustomerFacts | null, decision: Decision, latencyMs: number): void {
    const customer = facts?.customer ?? NOBODY;
    const degradedReasons = facts ? facts.failures.map((failure) => failure.replace(' ', ':')) : ['customer:DEADLINE'];
    this.tracking.taskEnriched({
      customer,
      taskSid,
      channel,
      attributes: decision.attributes,
      matchedRules: decision.matchedRules,
      degradedReasons: decision.degraded ? degradedReasons : [],
      latencyMs,
    });
    this.tracking.routingRulesMatched({ customer, taskSid, matchedRules: decision.matchedRules });
  }

  async enrich(taskSid: string, signal?: AbortSignal): Promise<Enrichment> {
    const startedAt = Date.now();
    const deadlineAt = startedAt + this.config.enrichment.jobDeadlineMs;
    // Read once, from the first version's attributes; a 412 only means re-merging.
    let facts: Promise<CustomerFacts> | undefined;
    for (let write = 1; ; write++) {
      const task = await this.tasks.task(taskSid);
      if (!task) return { kind: 'task_not_found' };
      const namespace = this.router.namespace;
      if (Object.hasOwn(task.attributes, namespace)) return { kind: 'already_stamped', attributes: ourPart(task.attributes, namespace) };
      if (!task.etag) throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, 'TaskRouter answered without an ETag: refusing to write blind');

      facts ??= this.routing.factsFor(lookupFromTaskAttributes(task.attributes));
      const decision = await this.routing.decideBy(facts, task.attributes, deadlineAt);
      signal?.throwIfAborted();
      const update = await this.tasks.updateAttributes(taskSid, applyToTaskAttributes(task.attributes, decision.namespace, decision.outcome), task.etag);
      if (!update) return { kind: 'task_not_found' };
      if (update.ok) {
        // Facts still in flight (the deadline passed) are not waited for: the stamp is what counts.
        const known = await Promise.race([facts, Promise.resolve(null)]);
        this.track(taskSid, task.taskChannel, known, decision, Date.now() - startedAt);
        return { kind: 'stamped', decision: { ...decision, stamped: true } };
      }
      this.logger.debug(`task ${taskSid} changed while we stamped it (412), reading it again`);
      if (write >= MAX_STALE_WRITES) {
        throw new UpstreamError('twilio', ErrorCode.UPSTREAM_UNAVAILABLE, `task ${taskSid} changed under ${MAX_STALE_WRITES} writes in a row`);
      }
    }
  }
}

/** The customer tracked when nobody was found: a pseudonym per task, never a merged fake customer. */
const NOBODY = { profileKey: null, resolvedBy: null, externalIds: [], addresses: [] };

function ourPart(attributes: Record<string, unknown>, namespace: string): Record<string, unknown> {
  return { [namespace]: attributes[namespace], ...(attributes.customers !== undefined ? { customers: attributes.customers } : {}) };
}
