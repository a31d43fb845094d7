import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { panelBody, postGraphQL } from '../support/graphql';
import { percentile } from '../support/load';
import type { BenchSandbox } from '../support/sandbox';
import type { BenchService } from '../support/service';

/**
 * Cold query: the panel query for customers nothing is cached for, one at a time, while every
 * upstream call takes UPSTREAM_LATENCY_MS. Compared with the critical path, the longest chain of
 * calls that depend on each other (CustomerContextService):
 *   1. resolution: the lookup's identifier → profile (Segment /external_ids); every read needs the profile;
 *   2. then in parallel: traits, audiences (Segment /traits), events (/events), and the conversations
 *      of each address (Twilio ParticipantConversations);
 *   3. then, once the conversations are known, the messages of each conversation shown, in parallel.
 * Journey, signals and routing are computed from what 2 already read. Three rounds: 3 × 100 ms.
 */
export const UPSTREAM_LATENCY_MS = 100;
const COLD_QUERY_ROUNDS = 3;

export interface ColdResult {
  queries: number;
  upstreamLatencyMs: number;
  criticalPathMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Upstream calls per query, by sandbox route. */
  callsPerQuery: Record<string, number>;
}

export async function coldQuery(service: BenchService, sandbox: BenchSandbox, customers: SandboxCustomer[], token: string): Promise<ColdResult> {
  await sandbox.setLatency(UPSTREAM_LATENCY_MS);
  await sandbox.resetCalls();
  const latencies: number[] = [];
  try {
    for (const customer of customers) {
      const startedAt = performance.now();
      const answer = await postGraphQL(service.url, token, panelBody(customer));
      latencies.push(performance.now() - startedAt);
      if (answer.status !== 200 || answer.errors)
        throw new Error(`cold query for customer ${customer.index} failed: ${answer.status} ${answer.text.slice(0, 300)}`);
    }
  } finally {
    await sandbox.setLatency(0);
  }
  const callsPerQuery: Record<string, number> = {};
  // Tracking's batches are the service reporting views, not reads.
  for (const call of await sandbox.calls())
    if (call.service !== 'tracking') callsPerQuery[call.route] = (callsPerQuery[call.route] ?? 0) + 1 / customers.length;
  latencies.sort((a, b) => a - b);
  return {
    queries: customers.length,
    upstreamLatencyMs: UPSTREAM_LATENCY_MS,
    criticalPathMs: COLD_QUERY_ROUNDS * UPSTREAM_LATENCY_MS,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    callsPerQuery,
  };
}
