import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { DomainError, ErrorCode } from '../../common/errors';
import { checkFirst } from '../../common/connection';
import { RoutingDecision } from '../routing-decision.model';
import { RoutingService } from '../routing.service';
import { EnrichmentDeadLetters } from './enrichment.model';
import { EnrichmentQueue } from './enrichment-queue';
import { TaskEnricher } from './task-enricher';
import { isSid } from '../../twilio/sids';

@Resolver()
export class EnrichmentResolver {
  constructor(
    private readonly enricher: TaskEnricher,
    private readonly queue: EnrichmentQueue,
    private readonly router: RoutingService,
  ) {}

  @Mutation(() => RoutingDecision, {
    description: 'Stamps the task now, exactly as the TaskRouter webhook would. A task already stamped is left alone (stamped: false, its current attributes).',
  })
  async enrichTask(@Args('taskSid', { type: () => ID }) taskSid: string): Promise<RoutingDecision> {
    if (!isSid('task', taskSid)) throw new DomainError(ErrorCode.BAD_REQUEST, 'taskSid must be a TaskRouter task SID (WT and 32 hex digits)');
    const enrichment = await this.enricher.enrich(taskSid);
    if (enrichment.kind === 'task_not_found') throw new DomainError(ErrorCode.NOT_FOUND, `Task ${taskSid} not found`);
    if (enrichment.kind === 'stamped') return enrichment.decision;
    const ours = enrichment.attributes[this.router.namespace];
    const stamp = typeof ours === 'object' && ours !== null ? (ours as Record<string, unknown>) : {};
    return {
      attributes: enrichment.attributes,
      matchedRules: [],
      explanations: [],
      degraded: stamp.degraded === true,
      degradedReason: typeof stamp.degraded_reason === 'string' ? stamp.degraded_reason : null,
      stamped: false,
    };
  }

  @Query(() => EnrichmentDeadLetters, { description: 'Tasks the enrichment workers gave up on; enrichTask stamps one by hand.' })
  async enrichmentDeadLetters(@Args('first', { type: () => Int, nullable: true, defaultValue: 20 }) first: number): Promise<EnrichmentDeadLetters> {
    checkFirst('first', first);
    const page = await this.queue.deadLetters(first);
    return {
      totalCount: page.total,
      durable: this.queue.durable,
      items: page.items.map((d) => ({
        id: d.id,
        taskSid: d.job.taskSid,
        eventSid: d.job.eventSid,
        attempts: d.attempts,
        error: d.error,
        failedAt: new Date(d.failedAt),
      })),
    };
  }
}
