import { mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RuleSet } from './rule-set';
import { RulesFileError } from './rules-file';
import { watchRulesFile, type RulesWatcher } from './rules-watcher';

type Report = { ruleSet: RuleSet } | { error: Error };

/** Reports in arrival order; `next()` fails the test instead of hanging when none comes. */
class Reports {
  private readonly queue: Report[] = [];
  private waiting: ((report: Report) => void) | undefined;

  readonly onChange = (ruleSet: RuleSet): void => this.push({ ruleSet });
  readonly onError = (error: Error): void => this.push({ error });

  get pending(): number {
    return this.queue.length;
  }

  next(): Promise<Report> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error('no report within 5 s')), 5_000);
      this.waiting = (report) => {
        clearTimeout(timeout);
        resolve(report);
      };
    });
  }

  async nextRuleNames(): Promise<string[]> {
    const report = await this.next();
    if ('error' in report) throw report.error;
    return report.ruleSet.rules.map((rule) => rule.name);
  }

  async nextError(): Promise<Error> {
    const report = await this.next();
    if ('ruleSet' in report) throw new Error(`expected an error, got rules ${report.ruleSet.rules.map((rule) => rule.name).join(', ')}`);
    return report.error;
  }

  private push(report: Report): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    if (waiting) waiting(report);
    else this.queue.push(report);
  }
}

function rulesNamed(...names: string[]): string {
  return `rules:\n${names.map((name) => `  - name: ${name}\n    set: { ${name}: true }\n`).join('')}`;
}

describe(watchRulesFile.name, () => {
  let directory: string;
  let file: string;
  let reports: Reports;
  let watcher: RulesWatcher | undefined;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), 'routing-rules-'));
    file = join(directory, 'rules.yaml');
    await writeFile(file, rulesNamed('first'));
    reports = new Reports();
    watcher = watchRulesFile(file, reports.onChange, reports.onError, { debounceMs: 20 });
  });

  afterEach(async () => {
    watcher?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('reloads on change, keeps reporting errors for bad edits, and recovers when fixed', async () => {
    await writeFile(file, rulesNamed('first', 'second'));
    expect(await reports.nextRuleNames()).toEqual(['first', 'second']);

    await writeFile(file, 'rules:\n  - name: broken\n    when: "has(traits."\n    set: { x: true }\n');
    const error = await reports.nextError();
    expect(error).toBeInstanceOf(RulesFileError);
    expect(error.message).toContain('rules[0] "broken": when: CEL syntax error');

    await writeFile(file, rulesNamed('fixed'));
    expect(await reports.nextRuleNames()).toEqual(['fixed']);
  });

  it('follows a file replaced by rename, as editors and atomic writers do', async () => {
    const temporary = join(directory, '.rules.yaml.tmp');
    await writeFile(temporary, rulesNamed('renamed'));
    await rename(temporary, file);

    expect(await reports.nextRuleNames()).toEqual(['renamed']);

    await writeFile(temporary, rulesNamed('renamed_again'));
    await rename(temporary, file);

    expect(await reports.nextRuleNames()).toEqual(['renamed_again']);
  });

  it('reports a deleted file and picks it up again when it returns', async () => {
    await unlink(file);
    expect((await reports.nextError()).message).toContain('cannot read the file: ENOENT');

    await writeFile(file, rulesNamed('back'));
    expect(await reports.nextRuleNames()).toEqual(['back']);
  });

  it('ignores other files in the directory and reports nothing after close', async () => {
    // A second watcher sees the same events with the same debounce: once it has reported, the
    // watcher under test would have reported too.
    const other = join(directory, 'other.yaml');
    const sentinel = new Reports();
    const onOther = watchRulesFile(other, sentinel.onChange, sentinel.onError, { debounceMs: 20 });
    try {
      await writeFile(other, 'not: rules');
      await sentinel.next();
      expect(reports.pending).toBe(0);
    } finally {
      onOther.close();
    }

    await writeFile(file, rulesNamed('seen'));
    expect(await reports.nextRuleNames()).toEqual(['seen']);

    watcher?.close();
    const onFile = watchRulesFile(file, sentinel.onChange, sentinel.onError, { debounceMs: 20 });
    try {
      await writeFile(file, rulesNamed('unseen'));
      expect(await sentinel.nextRuleNames()).toEqual(['unseen']);
      expect(reports.pending).toBe(0);
    } finally {
      onFile.close();
    }
  });
});
