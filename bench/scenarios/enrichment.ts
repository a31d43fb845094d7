import { randomBytes } from 'node:crypto';
import { getExpectedTwilioSignature } from 'twilio';
import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { percentile } from '../support/load';
import type { BenchSandbox } from '../support/sandbox';
import type { BenchService } from '../support/service';

/**
 * Enrichment: a signed TaskRouter `task.created` posted to the service → the stamped task written
 * back to TaskRouter, timed from the post to the moment the sandbox applies the update (its call
 * log's arrival time, plus the injected latency it waits before applying). Tasks are posted at a
 * steady pace, slower than they are stamped, so none waits behind another.
 */
export interface EnrichmentResult {
  tasks: number;
  upstreamLatencyMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Cold only: task read → resolution → traits, audiences, events, conversations → task write. */
  criticalPathMs?: number;
}

export interface EnrichmentRun {
  customers: SandboxCustomer[];
  /** Every upstream call takes this long (0: none added). */
  upstreamLatencyMs: number;
  /** Milliseconds between two posts. */
  paceMs: number;
}

const SETTLE_TIMEOUT_MS = 20_000;

export async function enrichment(service: BenchService, sandbox: BenchSandbox, run: EnrichmentRun): Promise<EnrichmentResult> {
  // Tasks exist before the clock starts, as they do when TaskRouter calls back.
  const tasks = [];
  for (const customer of run.customers) tasks.push(await createTask(sandbox, customer));
  await sandbox.resetCalls();
  await sandbox.setLatency(run.upstreamLatencyMs);
  const postedAt = new Map<string, number>();
  try {
    // Posts overlap; the first failure is kept and thrown once all are sent.
    let failure: Error | undefined;
    const posts: Array<Promise<void>> = [];
    for (const taskSid of tasks) {
      postedAt.set(taskSid, Date.now());
      posts.push(
        postTaskCreated(service, sandbox, taskSid).catch((error: unknown) => void (failure ??= error instanceof Error ? error : new Error(String(error)))),
      );
      await new Promise((resolve) => setTimeout(resolve, run.paceMs));
    }
    await Promise.all(posts);
    if (failure) throw failure;
    const stampedAt = await waitForStamps(sandbox, tasks);
    const latencies = tasks.map((sid) => (stampedAt.get(sid) as number) + run.upstreamLatencyMs - (postedAt.get(sid) as number)).sort((a, b) => a - b);
    return {
      tasks: tasks.length,
      upstreamLatencyMs: run.upstreamLatencyMs,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      maxMs: latencies.at(-1) ?? Number.NaN,
      ...(run.upstreamLatencyMs > 0 ? { criticalPathMs: 4 * run.upstreamLatencyMs } : {}),
    };
  } finally {
    await sandbox.setLatency(0);
  }
}

async function createTask(sandbox: BenchSandbox, customer: SandboxCustomer): Promise<string> {
  const { accountSid, authToken, workspaceSid } = sandbox.info.credentials;
  const response = await fetch(`${sandbox.info.twilioUrl}/v1/Workspaces/${workspaceSid}/Tasks`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Attributes: JSON.stringify({ from: customer.phone, channelType: 'sms', direction: 'inbound' }), TaskChannel: 'sms' }),
  });
  if (response.status !== 201) throw new Error(`creating a task in the sandbox: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { sid: string }).sid;
}

async function postTaskCreated(service: BenchService, sandbox: BenchSandbox, taskSid: string): Promise<void> {
  const { accountSid, authToken, workspaceSid } = sandbox.info.credentials;
  const path = '/webhooks/taskrouter';
  const params = {
    EventType: 'task.created',
    Sid: `EV${randomBytes(16).toString('hex')}`,
    AccountSid: accountSid,
    WorkspaceSid: workspaceSid,
    TaskSid: taskSid,
    ResourceSid: taskSid,
  };
  const response = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': getExpectedTwilioSignature(authToken, `${service.publicBaseUrl}${path}`, params),
    },
    body: new URLSearchParams(params),
  });
  if (response.status !== 204) throw new Error(`task.created for ${taskSid}: ${response.status} ${await response.text()}`);
}

/** When each task's successful update reached the sandbox (ms since the epoch). */
async function waitForStamps(sandbox: BenchSandbox, tasks: string[]): Promise<Map<string, number>> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const stampedAt = new Map<string, number>();
    for (const call of await sandbox.calls()) {
      if (call.route !== 'task_update' || call.status !== 200) continue;
      const sid = call.path.split('/').at(-1) as string;
      if (!stampedAt.has(sid)) stampedAt.set(sid, call.at);
    }
    const missing = tasks.filter((sid) => !stampedAt.has(sid));
    if (missing.length === 0) return stampedAt;
    if (Date.now() > deadline)
      throw new Error(`${missing.length} of ${tasks.length} tasks were not stamped within ${SETTLE_TIMEOUT_MS} ms (e.g. ${missing[0]})`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
