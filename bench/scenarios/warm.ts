import Redis from 'ioredis';
import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { answerKey } from '../baseline-server';
import { forEachLimit, lookupOf, panelBody, postGraphQL } from '../support/graphql';
import { load, type LoadResult } from '../support/load';
import { paced } from '../support/paced';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, logDir, startNodeWithHandover, stop, type Proc } from '../support/processes';
import { topSelfTime, type HotFunction } from '../support/profile';
import type { BenchService } from '../support/service';

/**
 * Warm query: the panel query for customers already cached, against a bare Fastify route that
 * returns the same answers straight from Redis. Saturation runs alternate (service, baseline,
 * service, baseline) so a burst of noise on the shared machine does not land on one side only;
 * the better round of each counts. A closed loop of 50 connections has latency = 50 ÷ throughput,
 * so latency is also measured open loop, paced at half the service's measured req/s (the load
 * generator shares the cores with the service: the paced p99 includes that contention). Last, a
 * second instance started with `--cpu-prof` answers the same load for a few seconds: the top 10
 * functions by self time show where a warm answer's CPU goes.
 */
export interface Measured extends LoadResult {
  /** CPU time the server process spent per answer: steadier than req/s on a shared machine. */
  cpuMsPerRequest: number;
}

export interface WarmResult {
  customers: number;
  connections: number;
  service: Measured;
  baseline: Measured;
  /** service req/s ÷ baseline req/s */
  ratio: number;
  /** The service paced at PACED_SHARE of its measured req/s, same connections. */
  paced: Measured;
  /** The service's answer cache over the whole scenario (cc_answer_cache_lookups_total). */
  answers: Record<'hit' | 'miss' | 'kept' | 'changed', number>;
  /** Where a profiled instance spent its CPU under the same load (null: the profile could not be taken). */
  profile: HotFunction[] | null;
}

async function answerLookups(url: string): Promise<WarmResult['answers']> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const count = (outcome: string) => Number(new RegExp(`^cc_answer_cache_lookups_total\\{outcome="${outcome}"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  return { hit: count('hit'), miss: count('miss'), kept: count('kept'), changed: count('changed') };
}

const CONNECTIONS = 50;
const ROUNDS = 2;
const WARMUP_SEC = 3;
const MEASURE_SEC = 10;
const PACED_SHARE = 0.5;
const PROFILE_SEC = 8;
/** Customers the profiled instance serves: enough for the load, few enough to fill quickly. */
const PROFILE_CUSTOMERS = 200;

/** Starts another instance of the service, profiled (`node --cpu-prof`), on the same Redis and sandbox. */
export type StartProfiled = (cpuProfDir: string) => Promise<BenchService>;

export async function warmQuery(
  service: BenchService,
  customers: SandboxCustomer[],
  token: string,
  redisUrl: string,
  startProfiled?: StartProfiled,
): Promise<WarmResult> {
  const bodies = customers.map(panelBody);
  await fillCache(service, customers, bodies, token, redisUrl);
  const { proc, info } = await startNodeWithHandover<{ url: string }>('baseline', ['-r', 'ts-node/register/transpile-only', 'bench/baseline-server.ts'], {
    REDIS_URL: redisUrl,
  });
  try {
    const headers = { authorization: `Bearer ${token}` };
    const measure = async (server: Proc, work: () => Promise<LoadResult>): Promise<Measured> => {
      const pid = server.child.pid as number;
      const cpuBefore = await cpuSeconds(pid);
      const result = await work();
      return { ...result, cpuMsPerRequest: (((await cpuSeconds(pid)) - cpuBefore) * 1000) / result.requests };
    };
    const run = (server: Proc, url: string, durationSec: number) =>
      measure(server, () => load({ url: `${url}/graphql`, headers, bodies, connections: CONNECTIONS, durationSec }));
    await run(service.proc, service.url, WARMUP_SEC);
    await run(proc, info.url, WARMUP_SEC);
    const rounds: Array<{ service: Measured; baseline: Measured }> = [];
    for (let i = 0; i < ROUNDS; i++)
      rounds.push({ service: await run(service.proc, service.url, MEASURE_SEC), baseline: await run(proc, info.url, MEASURE_SEC) });
    const best = (side: 'service' | 'baseline') => rounds.map((r) => r[side]).reduce((a, b) => (b.rps > a.rps ? b : a));
    const [serviceBest, baselineBest] = [best('service'), best('baseline')];
    const rate = Math.max(1, Math.round(serviceBest.rps * PACED_SHARE));
    const pacedResult = await measure(service.proc, () =>
      paced({ url: `${service.url}/graphql`, headers, bodies, connections: CONNECTIONS, rate, durationSec: MEASURE_SEC }),
    );
    const answers = await answerLookups(service.url);
    const profile = startProfiled ? await profiled(startProfiled, customers, bodies, token, headers) : null;
    return {
      customers: customers.length,
      connections: CONNECTIONS,
      service: serviceBest,
      baseline: baselineBest,
      ratio: serviceBest.rps / baselineBest.rps,
      paced: pacedResult,
      answers,
      profile,
    };
  } finally {
    await stop(proc);
  }
}

/** The same load on a profiled instance (its own process, so the measured one carries no profiler). */
async function profiled(
  start: StartProfiled,
  customers: SandboxCustomer[],
  bodies: string[],
  token: string,
  headers: Record<string, string>,
): Promise<HotFunction[] | null> {
  const dir = mkdtempSync(join(logDir, 'cpu-prof-'));
  const service = await start(dir);
  const some = bodies.slice(0, Math.min(PROFILE_CUSTOMERS, customers.length));
  try {
    // Twice each: the first answer fills L1 from Redis, the second is kept.
    for (let round = 0; round < 2; round++) await forEachLimit(some, 20, async (body) => void (await postGraphQL(service.url, token, body)));
    await load({ url: `${service.url}/graphql`, headers, bodies: some, connections: CONNECTIONS, durationSec: PROFILE_SEC });
  } finally {
    await service.stop();
  }
  try {
    return topSelfTime(dir, PROFILE_SEC);
  } catch {
    return null;
  }
}

/** Puts every customer in the service's cache, and each real answer in Redis for the baseline to serve. */
async function fillCache(service: BenchService, customers: SandboxCustomer[], bodies: string[], token: string, redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    await forEachLimit(customers, 20, async (customer, i) => {
      const answer = await postGraphQL(service.url, token, bodies[i]);
      if (answer.status !== 200 || answer.errors)
        throw new Error(`warm-up query for customer ${customer.index} failed: ${answer.status} ${answer.text.slice(0, 300)}`);
      await redis.set(answerKey(lookupOf(customer)), answer.text);
    });
  } finally {
    redis.disconnect();
  }
}
