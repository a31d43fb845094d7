export interface TaskSnapshot {
  sid: string;
  attributes: Record<string, unknown>;
  /** The version to send back as If-Match on update. */
  etag: string | null;
  assignmentStatus: string;
  taskChannel: string | null;
}

/** `stale`: the task changed since the ETag was read (TaskRouter answered 412); nothing was written. */
export type TaskUpdate = { ok: true; task: TaskSnapshot } | { ok: false; reason: 'stale' };

/** Port to TaskRouter tasks. */
export abstract class TaskSource {
  /** null when the task does not exist. */
  abstract task(taskSid: string): Promise<TaskSnapshot | null>;

  /**
   * Replaces the task's attributes only if the task is still at `etag` (If-Match), so a change
   * someone else made since our read is never overwritten. null when the task does not exist.
   */
  abstract updateAttributes(taskSid: string, attributes: Record<string, unknown>, etag: string): Promise<TaskUpdate | null>;

  /** The workspace's tasks not yet completed or canceled (pending, reserved, assigned, wrapping), at most `limit`; without ETags. */
  abstract openTasks(limit: number): Promise<TaskSnapshot[]>;
}
