import { Body, Controller, HttpCode, Logger, Post, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { Public } from '../../common/public.decorator';
import { DomainError, ErrorCode } from '../../common/errors';
import { WebhookMetrics } from '../../metrics/webhook-metrics';
import { TwilioSignatureGuard } from '../../twilio/twilio-signature.guard';
import { EnrichmentQueue } from './enrichment-queue';
import { TaskEnricher } from './task-enricher';
import { SID_PATTERNS } from '../../twilio/sids';

const IN_PROCESS_ATTEMPTS = 5;

/** The fields of a TaskRouter event this service reads; the rest (WIRE-FORMATS.md) is ignored. */
const taskRouterEvent = z.object({
  EventType: z.string().min(1),
  Sid: z.string().optional(),
  TaskSid: z.string().regex(SID_PATTERNS.task).optional(),
});

/**
 * TaskRouter's EventCallbackUrl. It only enqueues, so it answers well inside TaskRouter's 15 s;
 * the workers do the stamping. One job per task: the dedupe key is the TaskSid, which also
 * covers a redelivery of the same event (same EventSid).
 */
@Public()
@Controller('webhooks')
export class TaskRouterWebhookController {
  private readonly logger = new Logger(TaskRouterWebhookController.name);

  constructor(
    private readonly queue: EnrichmentQueue,
    private readonly enricher: TaskEnricher,
    private readonly metrics: WebhookMetrics,
  ) {}

  private async enrichInProcess(taskSid: string): Promise<void> {
    for (let attempt = 1; attempt <= IN_PROCESS_ATTEMPTS; attempt++) {
      try {
        await this.enricher.enrich(taskSid);
        return;
      } catch (error) {
        if (attempt === IN_PROCESS_ATTEMPTS) this.logger.error(`task ${taskSid} not stamped after ${attempt} in-process attempts: ${(error as Error).message}`);
        else await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    }
  }

  @Post('taskrouter')
  @HttpCode(204)
  @UseGuards(TwilioSignatureGuard)
  async event(@Body() body: unknown): Promise<void> {
    const parsed = taskRouterEvent.safeParse(body);
    if (!parsed.success)
      throw new DomainError(ErrorCode.BAD_REQUEST, `Not a TaskRouter event: ${parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`);
    const event = parsed.data;
    if (event.EventType !== 'task.created') {
      this.metrics.count('taskrouter', 'ignored');
      return;
    }
    if (!event.TaskSid) throw new DomainError(ErrorCode.BAD_REQUEST, 'task.created without a TaskSid');
    try {
      const added = await this.queue.enqueue(
        { taskSid: event.TaskSid, eventSid: event.Sid ?? null, enqueuedAt: new Date().toISOString() },
        `task:${event.TaskSid}`,
      );
      this.metrics.count('taskrouter', added ? 'enqueued' : 'duplicate');
    } catch (error) {
      this.metrics.count('taskrouter', 'in_process');
      // TaskRouter does not redeliver a failed event callback, so an unstored job would be a
      // task never stamped: stamp it from this process instead (not durable across a crash,
      // and safe to overlap with a queued job: a stamped task is never stamped again).
      this.logger.warn(`enrichment queue unavailable, enriching ${event.TaskSid} in process: ${(error as Error).message}`);
      void this.enrichInProcess(event.TaskSid);
    }
  }
}
