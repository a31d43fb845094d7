import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The benchmark's separate processes, each logging to its own file so a failure can be read afterwards. */
export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
}

const root = join(__dirname, '..', '..');
export const logDir = mkdtempSync(join(tmpdir(), 'cc-bench-'));

export function startNode(name: string, args: string[], env: Record<string, string>): Proc {
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { name, child, logFile };
}

/** A process whose first stdout line is its JSON hand-over (the sandbox CLI prints its URLs and credentials so). */
export async function startNodeWithHandover<T>(name: string, args: string[], env: Record<string, string>): Promise<{ proc: Proc; info: T }> {
  const logFile = join(logDir, `${name}.log`);
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  child.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
  const info = await new Promise<T>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line) as T));
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}; see ${logFile}`)));
  });
  return { proc: { name, child, logFile }, info };
}

export async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill('SIGTERM');
  // A process that ignores SIGTERM must not hold the run: the benchmark is bounded in time.
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export async function waitHttp(url: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`${proc.name} exited with ${proc.child.exitCode}; see ${proc.logFile}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not come up within ${timeoutMs} ms; see ${proc.logFile}`);
}

/** CPU time (user + system) a process has used so far, in seconds, from /proc (Linux; clock ticks of 10 ms). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
