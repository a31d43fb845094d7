import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { formatReport, runSoak } from './soak/soak';

/**
 * The short soak (`npm run soak` runs the full one): service processes built from this tree,
 * faults under load, and every invariant must hold.
 */
describe('soak (short)', () => {
  beforeAll(() => {
    execFileSync(process.execPath, [join(__dirname, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      cwd: join(__dirname, '..'),
      stdio: 'inherit',
    });
  }, 120_000);

  it('keeps its promises through Redis, instance and upstream faults', async () => {
    const report = await runSoak({ seconds: 30, instances: 2, queryConcurrency: 8, tasksPerSecond: 2, webhooksPerSecond: 3, maxRps: 50, log: () => undefined });
    const broken = report.invariants.filter((i) => !i.ok);
    if (broken.length > 0) process.stdout.write(`${formatReport(report)}\n`);
    expect(broken).toEqual([]);
  }, 240_000);
});
