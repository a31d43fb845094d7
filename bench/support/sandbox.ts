import type { CallRecord, FaultRule, SandboxCredentials, SandboxCustomer } from '../../src/sandbox/sandbox';
import { seedCustomers, seedWorld } from '../../src/sandbox/seed';
import { startNodeWithHandover, type Proc } from './processes';

/**
 * The sandbox as its own process (the CLI), driven over its HTTP control API. Its customers are
 * generated again here from the same seed: identities do not depend on the time of start.
 */
export interface SandboxInfo {
  segmentUrl: string;
  trackingUrl: string;
  twilioUrl: string;
  credentials: SandboxCredentials;
}

export interface BenchSandbox {
  proc: Proc;
  info: SandboxInfo;
  customers: SandboxCustomer[];
  /** Every upstream answers this much later (0: no fault). */
  setLatency(ms: number): Promise<void>;
  resetCalls(): Promise<void>;
  calls(): Promise<CallRecord[]>;
}

const SEED = 42;

export async function startBenchSandbox(customers: number): Promise<BenchSandbox> {
  const { proc, info } = await startNodeWithHandover<SandboxInfo>('sandbox', ['dist/sandbox/main.js'], {
    SANDBOX_CUSTOMERS: String(customers),
    SANDBOX_SEED: String(SEED),
  });
  const control = async (method: string, path: string, body?: FaultRule): Promise<Response> => {
    const response = await fetch(`${info.segmentUrl}/__sandbox/${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error(`sandbox control ${method} ${path}: ${response.status} ${await response.text()}`);
    return response;
  };
  return {
    proc,
    info,
    customers: seedCustomers(seedWorld(SEED), { customers, seed: SEED, now: new Date(), phoneIdType: 'phone' }),
    async setLatency(ms) {
      await control('DELETE', 'faults');
      if (ms > 0) for (const service of ['segment', 'twilio'] as const) await control('POST', 'faults', { service, latencyMs: ms });
    },
    async resetCalls() {
      await control('DELETE', 'calls');
    },
    async calls() {
      return ((await (await control('GET', 'calls')).json()) as { log: CallRecord[] }).log;
    },
  };
}
