import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether the upstream call in progress serves a waiting user (foreground) or refreshes a stale
 * cache entry nobody waits on (background). Background work yields the shared Profile API budget.
 */
export type Priority = 'foreground' | 'background';

const storage = new AsyncLocalStorage<Priority>();

export function runWithPriority<T>(priority: Priority, work: () => T): T {
  return storage.run(priority, work);
}

export function currentPriority(): Priority {
  return storage.getStore() ?? 'foreground';
}
