// Hot reload of the rules file. A bad edit must never take routing down: the last good RuleSet
// stays in use (the caller keeps it) and the problem goes to onError.
import { watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { RuleSet } from './rule-set';
import { parseRulesFile, readRulesText } from './rules-file';

export interface RulesWatcher {
  close(): void;
}

export interface WatchRulesOptions {
  /** Editors write in several steps; wait this long after the last event. */
  readonly debounceMs?: number;
}

/**
 * Calls onChange with the new RuleSet each time the file's content changes, and onError with a
 * RulesFileError when the new content is invalid or unreadable. Load the file first
 * (`loadRulesFile`), then watch: the watcher reports changes only.
 *
 * The directory is watched rather than the file, because editors and atomic writers replace the
 * file by renaming a new one over it, and a watch on the old file would then see nothing more.
 * Kubernetes ConfigMap volumes swap a `..data` symlink in the same directory, so those events
 * count too. Other events in the directory are ignored, and unchanged content is not reported.
 */
export function watchRulesFile(
  path: string,
  onChange: (ruleSet: RuleSet) => void,
  onError: (error: Error) => void,
  options: WatchRulesOptions = {},
): RulesWatcher {
  const file = resolve(path);
  const name = basename(file);
  const debounceMs = options.debounceMs ?? 200;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let reloading = false;
  let changedWhileReloading = false;
  let lastText: string | undefined;

  const watcher = watch(dirname(file), { persistent: false }, (_event, filename) => {
    if (filename === null || filename === name || filename.startsWith('..')) schedule();
  });
  watcher.on('error', (error) => {
    if (!closed) onError(error);
  });

  function schedule(): void {
    if (closed) return;
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), debounceMs);
    timer.unref();
  }

  async function reload(): Promise<void> {
    // One reload at a time, so an older read can never overwrite the result of a newer one.
    if (reloading) {
      changedWhileReloading = true;
      return;
    }
    reloading = true;
    try {
      const text = await readRulesText(file);
      if (closed || text === lastText) return;
      lastText = text;
      const ruleSet = parseRulesFile(text, file);
      if (!closed) onChange(ruleSet);
    } catch (error) {
      if (!closed) onError(error instanceof Error ? error : new Error(String(error)));
    } finally {
      reloading = false;
      if (changedWhileReloading) {
        changedWhileReloading = false;
        schedule();
      }
    }
  }

  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
      watcher.close();
    },
  };
}
