import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/** One line of a CPU profile summary: a function and the share of samples spent in it (not in what it called). */
export interface HotFunction {
  name: string;
  /** `file:line`, relative to the repository (node_modules kept, so a library is named). */
  where: string;
  selfPercent: number;
  selfMs: number;
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  startTime: number;
  endTime: number;
  samples: number[];
  /** Microseconds between consecutive samples (the first from startTime). */
  timeDeltas: number[];
}

const root = join(__dirname, '..', '..');

/** Not time spent on the work: the process waiting, or the profiler's own bookkeeping. */
const NOT_WORK = new Set(['(idle)', '(program)']);

/**
 * The top `count` functions by self time in the newest .cpuprofile of `dir` (written by `node
 * --cpu-prof`), over the samples of its last `lastSeconds` (the load; not the start-up and the
 * warm-up before it), as shares of the busy samples.
 */
export function topSelfTime(dir: string, lastSeconds: number, count = 10): HotFunction[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort();
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(join(dir, files.at(-1)!), 'utf8')) as CpuProfile;
  const from = profile.endTime - lastSeconds * 1_000_000;
  const nameOf = new Map(profile.nodes.map((n) => [n.id, n.callFrame.functionName]));
  const samples = new Map<number, number>();
  let at = profile.startTime;
  let total = 0;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || NOT_WORK.has(nameOf.get(id) ?? '')) return;
    samples.set(id, (samples.get(id) ?? 0) + 1);
    total++;
  });
  const msPerSample = (profile.endTime - profile.startTime) / 1000 / Math.max(1, profile.samples.length);
  const byFunction = new Map<string, HotFunction>();
  for (const node of profile.nodes) {
    const hits = samples.get(node.id) ?? 0;
    if (hits === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName || '(anonymous)';
    const file = url.startsWith('file://') ? relative(root, url.slice('file://'.length)) : url || '(native)';
    const where = url ? `${file}:${lineNumber + 1}` : file;
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, selfPercent: 0, selfMs: 0 };
    entry.selfPercent += (100 * hits) / total;
    entry.selfMs += hits * msPerSample;
    byFunction.set(key, entry);
  }
  return [...byFunction.values()].sort((a, b) => b.selfPercent - a.selfPercent).slice(0, count);
}
