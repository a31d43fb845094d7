import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { panelBody } from '../support/graphql';
import { load } from '../support/load';
import type { BenchSandbox } from '../support/sandbox';
import type { BenchService } from '../support/service';
import { UPSTREAM_LATENCY_MS } from './cold';

/**
 * Stampede: many concurrent panel queries for one customer nothing is cached for. Upstreams are
 * slow (UPSTREAM_LATENCY_MS) so every query arrives while the first fetches are in flight. A
 * resource is one upstream URL (method and path with its query string).
 */
export interface StampedeResult {
  queries: number;
  failures: number;
  p50Ms: number;
  p99Ms: number;
  /** Calls per sandbox route, summed over resources. */
  callsByRoute: Record<string, number>;
  resources: number;
  /** The most calls any one resource got: 1 when the stampede was absorbed. */
  maxCallsPerResource: number;
}

export async function stampede(
  service: BenchService,
  sandbox: BenchSandbox,
  customer: SandboxCustomer,
  token: string,
  queries: number,
): Promise<StampedeResult> {
  await sandbox.setLatency(UPSTREAM_LATENCY_MS);
  await sandbox.resetCalls();
  let result;
  try {
    result = await load({
      url: `${service.url}/graphql`,
      headers: { authorization: `Bearer ${token}` },
      bodies: [panelBody(customer)],
      connections: queries,
      amount: queries,
    });
  } finally {
    await sandbox.setLatency(0);
  }
  const perResource = new Map<string, number>();
  const callsByRoute: Record<string, number> = {};
  for (const call of await sandbox.calls()) {
    // Tracking's batches are the service reporting views, not reads.
    if (call.service === 'tracking') continue;
    const resource = `${call.method} ${call.path}`;
    perResource.set(resource, (perResource.get(resource) ?? 0) + 1);
    callsByRoute[call.route] = (callsByRoute[call.route] ?? 0) + 1;
  }
  return {
    queries,
    failures: result.failures,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    callsByRoute,
    resources: perResource.size,
    maxCallsPerResource: Math.max(0, ...perResource.values()),
  };
}
