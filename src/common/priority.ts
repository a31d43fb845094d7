import { AsyncLocalStorage } from 'node:async_hooks';
import { callThenSettle } from './settled';

/**
 * Whether the upstream call in progress serves a waiting user (foreground) or refreshes a stale
 * cache entry nobody waits on (background). Background work yields the shared Profile API budget.
 */
export type Priority = 'foreground' | 'background';

const storage = new AsyncLocalStorage<Priority>();
/** Background runs not settled yet: the storage is enabled only while there are some. */
let background = 0;

/**
 * Runs `work` at `priority`. Foreground is what no priority means, so foreground work outside a
 * background run gets no context at all. On Node 20 an enabled AsyncLocalStorage runs a hook for
 * every promise the process makes, every request's included; so the storage is enabled only while
 * a background refresh runs, and disabled (`disable`, its documented switch) once none does.
 */
export function runWithPriority<T>(priority: Priority, work: () => T): T {
  if (priority === 'foreground') return storage.getStore() === 'background' ? storage.run('foreground', work) : work();
  background++;
  return callThenSettle(() => storage.run('background', work), settled);
}

function settled(): void {
  if (--background === 0) storage.disable();
}

export function currentPriority(): Priority {
  return storage.getStore() ?? 'foreground';
}
