import { Injectable } from '@nestjs/common';
import type { ApiResponse } from 'twilio/lib/base/ApiResponse';
import type { TaskInstance } from 'twilio/lib/rest/taskrouter/v1/workspace/task';
import { AppConfig } from '../config/config';
import { TwilioCalls } from '../twilio/twilio-calls';
import { TaskSource, type TaskSnapshot, type TaskUpdate } from './task.source';
import { isSid } from '../twilio/sids';

/** TaskRouter tasks through twilio-node, with the ETag that later updates send as If-Match. */
@Injectable()
export class TwilioTaskSource extends TaskSource {
  constructor(
    private readonly config: AppConfig,
    private readonly twilio: TwilioCalls,
  ) {
    super();
  }

  task(taskSid: string): Promise<TaskSnapshot | null> {
    if (!isSid('task', taskSid)) return Promise.resolve(null);
    return this.twilio.call('task', async () => toSnapshot(await this.tasks(taskSid).fetchWithHttpInfo()), { 404: null });
  }

  updateAttributes(taskSid: string, attributes: Record<string, unknown>, etag: string): Promise<TaskUpdate | null> {
    if (!isSid('task', taskSid)) return Promise.resolve(null);
    // Retrying after a timeout is safe: if the first try did land, the retry's If-Match is stale.
    return this.twilio.call<TaskUpdate, TaskUpdate | null>(
      'task_update',
      async () => ({ ok: true, task: toSnapshot(await this.tasks(taskSid).updateWithHttpInfo({ attributes: JSON.stringify(attributes), ifMatch: etag })) }),
      { 412: { ok: false, reason: 'stale' }, 404: null },
    );
  }

  openTasks(limit: number): Promise<TaskSnapshot[]> {
    return this.twilio.call('tasks_list', async () => {
      const tasks = await this.twilio.client.taskrouter.v1
        .workspaces(this.config.twilio.workspaceSid)
        .tasks.list({ assignmentStatus: [...OPEN], pageSize: Math.min(limit, 1000), limit });
      return tasks.map((task) => ({
        sid: task.sid,
        attributes: parseAttributes(task.attributes),
        etag: null,
        assignmentStatus: task.assignmentStatus,
        taskChannel: task.taskChannelUniqueName ?? null,
      }));
    });
  }

  private tasks(taskSid: string) {
    return this.twilio.client.taskrouter.v1.workspaces(this.config.twilio.workspaceSid).tasks(taskSid);
  }
}

/** TaskRouter's assignment statuses of a task still in play (task_enum_status). */
const OPEN = ['pending', 'reserved', 'assigned', 'wrapping'] as const;

function toSnapshot(response: ApiResponse<TaskInstance>): TaskSnapshot {
  const task = response.body;
  return {
    sid: task.sid,
    attributes: parseAttributes(task.attributes),
    etag: headerOf(response.headers, 'etag'),
    assignmentStatus: task.assignmentStatus,
    taskChannel: task.taskChannelUniqueName ?? null,
  };
}

/** Task attributes are a JSON string written by anyone; garbage reads as no attributes. */
export function parseAttributes(raw: unknown): Record<string, unknown> {
  if (typeof raw !== 'string') return {};
  try {
    const value: unknown = JSON.parse(raw);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function headerOf(headers: Record<string, string> | undefined, name: string): string | null {
  if (!headers) return null;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key ? String(headers[key]) : null;
}
