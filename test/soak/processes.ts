import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The soak's separate processes: a service instance or the sandbox, each logging to its own file. */
export interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
}

export const logDir = mkdtempSync(join(tmpdir(), 'cc-soak-'));
const root = join(__dirname, '..', '..');

export function startNode(name: string, script: string, env: Record<string, string>, nodeArgs: string[] = []): Proc {
  const logFile = join(logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [...nodeArgs, join(root, script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], cwd: root });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { name, child, logFile };
}

/** The sandbox CLI prints its URLs and credentials as one JSON line. */
export async function startSandboxProcess(customers: number): Promise<{ proc: Proc; info: SandboxInfo }> {
  const logFile = join(logDir, 'sandbox.log');
  const child = spawn(process.execPath, [join(root, 'dist/sandbox/main.js')], {
    env: { ...process.env, SANDBOX_CUSTOMERS: String(customers) },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: root,
  });
  child.stderr?.pipe(createWriteStream(logFile, { flags: 'a' }));
  const lines = createInterface({ input: child.stdout });
  const info = await new Promise<SandboxInfo>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as SandboxInfo));
    child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  return { proc: { name: 'sandbox', child, logFile }, info };
}

export interface SandboxInfo {
  segmentUrl: string;
  trackingUrl: string;
  twilioUrl: string;
  credentials: { spaceId: string; accessToken: string; accountSid: string; authToken: string; workspaceSid: string; writeKey: string; agentToken: string };
}

export async function stop(proc: Proc, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.child.once('exit', resolve));
  proc.child.kill(signal);
  await exited;
}

export async function waitHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** Resident memory of a process, from /proc (Linux). */
/** Node flags for an instance whose memory is judged: SIGWINCH runs a full collection (see the hook). */
export const COLLECTABLE = ['--expose-gc', '-r', join(root, 'bench', 'support', 'gc-on-sigwinch.js')];

/** RSS once a full collection has run: what the process keeps, not garbage waiting for the next one. */
export async function rssAfterCollection(proc: Proc): Promise<number> {
  proc.child.kill('SIGWINCH');
  await new Promise((resolve) => setTimeout(resolve, 500));
  return rssBytes(proc.child.pid!);
}

async function rssBytes(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb * 1024;
}
