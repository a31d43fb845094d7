import { loadavg } from 'node:os';
import type { SandboxCustomer } from '../src/sandbox/sandbox';
import { startRedisServer } from '../test/support/redis-server';
import { budget, BUDGET_MAX_RPS } from './scenarios/budget';
import { coldQuery, UPSTREAM_LATENCY_MS } from './scenarios/cold';
import { enrichment } from './scenarios/enrichment';
import { freshness } from './scenarios/freshness';
import { fill, memory, snapshot } from './scenarios/memory';
import { startFlexStandIn } from '../test/support/panel-browser';
import { panelPaint } from './scenarios/panel';
import { stampede } from './scenarios/stampede';
import { warmQuery } from './scenarios/warm';
import { logDir, stop } from './support/processes';
import { judge, printDetails, printReport, writeReport, type Gap, type Results } from './support/report';
import { startBenchSandbox } from './support/sandbox';
import { startService, type BenchService } from './support/service';

/**
 * `npm run bench`: the service (built, in its own process) against the sandbox (its own process)
 * and its own redis-server, on loopback. Every scenario is bounded; the run takes a few minutes,
 * prints PASS/MISS per target and writes bench/results/latest.json. See docs/operations.md.
 */
const SANDBOX_CUSTOMERS = 12_000;
const WARM_CUSTOMERS = 1_000;
const COLD_QUERIES = 30;
const STAMPEDE_QUERIES = 500;
const BUDGET_CUSTOMERS = 2_000;
const PANEL_LOADS = 20;
const FRESHNESS_EVENTS = 30;
const MEMORY_CUSTOMERS = 10_000;
const BOUNDED_L1_ITEMS = 10_000;
/** Kept answers bounded too in the bounded instance: full (about 450 answers) before L1 is. */
const BOUNDED_ANSWERS_MB = 4;
const SETTLE_MS = 1_000;

const HOUR_MS = String(60 * 60_000);
/**
 * Nothing turns stale during the run, so a warm query is served from L1 (and its kept answer) and
 * never refreshed or rebuilt. In production each part is refreshed when its TTL passes (1 min for
 * events and conversations by default) and the kept answer is rebuilt then, once per customer.
 */
const LONG_TTLS = {
  ...Object.fromEntries(['TRAITS', 'EVENTS', 'EXTERNAL_IDS', 'CONVERSATIONS', 'MESSAGES', 'RESOLUTION'].map((name) => [`CACHE_TTL_${name}_MS`, HOUR_MS])),
  CACHE_ANSWERS_MAX_AGE_MS: HOUR_MS,
};
const MAIN_PREFIX = 'bench-main:';

const say = (line: string) => process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

/** Customers for each scenario, disjoint where a scenario needs them cold. */
function customerSets(customers: SandboxCustomer[]) {
  const withProfile = customers.filter((c) => c.archetype === 'regular' && c.profileId);
  // The panel's usual customer: reached by phone, with conversations to show.
  const panel = withProfile.filter((c) => c.phone && c.conversations.length > 0);
  const warm = panel.slice(0, WARM_CUSTOMERS);
  const cold = panel.slice(WARM_CUSTOMERS, WARM_CUSTOMERS + COLD_QUERIES);
  const stampedeCustomer = panel[WARM_CUSTOMERS + COLD_QUERIES];
  const enrichmentCold = panel.slice(WARM_CUSTOMERS + COLD_QUERIES + 1, WARM_CUSTOMERS + 2 * COLD_QUERIES + 1);
  // Its own customer: the freshness scenario's Segment events land on its timeline.
  const freshness = panel.slice(WARM_CUSTOMERS + 2 * COLD_QUERIES + 1).find((c) => c.userId);
  if (!freshness) throw new Error('the sandbox has no customer with a userId left for the freshness scenario');
  const many = [...new Set([...warm, ...cold, stampedeCustomer, ...enrichmentCold, ...withProfile])].slice(0, MEMORY_CUSTOMERS);
  if (many.length < MEMORY_CUSTOMERS) throw new Error(`the sandbox has only ${many.length} customers for the memory scenario`);
  return {
    warm,
    cold,
    stampedeCustomer,
    enrichmentCold,
    budget: withProfile.slice(0, BUDGET_CUSTOMERS),
    memory: many,
    panel: warm.slice(0, PANEL_LOADS),
    freshness,
  };
}

/** BENCH_ONLY=warm,memory runs only those scenarios (while working on one); the rest are reported as skipped. */
const only = process.env.BENCH_ONLY?.split(',')
  .map((s) => s.trim())
  .filter(Boolean);

/**
 * BENCH_ENV="TRACKING_VIEW_SAMPLE_RATE=0 LOG_LEVEL=warn" sets the services' variables over the
 * production defaults: to see what one guarantee costs. The report then no longer judges the defaults.
 */
const overrides = Object.fromEntries(
  (process.env.BENCH_ENV ?? '')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);

/** Runs a scenario; a failure becomes a gap in the report instead of ending the run. */
async function attempt<T>(name: string, run: () => Promise<T>): Promise<T | Gap> {
  if (only && !only.some((scenario) => name.startsWith(scenario))) return { gap: 'skipped (BENCH_ONLY)' };
  // A moment for the previous scenario's background work (tracking flushes, collection) to settle.
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  say(`${name}...`);
  try {
    return await run();
  } catch (error) {
    say(`${name} could not be measured: ${(error as Error).message}`);
    return { gap: (error as Error).message.split('\n')[0].slice(0, 200) };
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const loadBefore = loadavg();
  say(`logs in ${logDir}`);
  if (Object.keys(overrides).length > 0) say(`BENCH_ENV over the production defaults: ${JSON.stringify(overrides)}`);
  const redis = await startRedisServer();
  const sandbox = await startBenchSandbox(SANDBOX_CUSTOMERS);
  const token = sandbox.info.credentials.agentToken;
  const sets = customerSets(sandbox.customers);
  // Production defaults: tracking on into the sandbox's collector (as with a write key), every view
  // tracked, info logging (one audit line per read), the example access policy. Rate limits are
  // enforced with ceilings above the load (bench/support/service.ts).
  const production = {
    SEGMENT_WRITE_KEY: sandbox.info.credentials.writeKey,
    SEGMENT_TRACKING_HOST: sandbox.info.trackingUrl,
    LOG_LEVEL: 'info',
    TRACKING_VIEW_SAMPLE_RATE: '1',
    ACCESS_POLICY_FILE: 'config/access-policy.example.yaml',
    ...LONG_TTLS,
    ...overrides,
  };
  const services: BenchService[] = [];
  // The panel scenario's Flex stand-in frames the main instance's panel: its origin is allowed there.
  let panelBase = '';
  const flex = await startFlexStandIn(() => panelBase);
  const start = async (name: string, env: Record<string, string>, cpuProfDir?: string) => {
    const service = await startService(name, sandbox, redis.url, { ...production, ...env }, cpuProfDir);
    services.push(service);
    return service;
  };
  try {
    // Room in L1 for every customer of the memory scenario.
    const primary = await start('bench-main', {
      REDIS_KEY_PREFIX: MAIN_PREFIX,
      CACHE_L1_MAX_ITEMS: '1000000',
      CACHE_L1_MAX_SIZE_MB: '2048',
      CORS_ORIGINS: flex.origin,
    });
    panelBase = `${primary.url}/panel`;
    await fill(primary, sets.warm.slice(0, 5), token);
    const memoryBefore = await snapshot(primary);
    const mainEnv = { REDIS_KEY_PREFIX: MAIN_PREFIX, CACHE_L1_MAX_ITEMS: '1000000', CACHE_L1_MAX_SIZE_MB: '2048' };
    const warm = await attempt(`warm query: ${sets.warm.length} cached customers`, () =>
      warmQuery(primary, sets.warm, token, redis.url, (dir) => start('bench-profiled', mainEnv, dir)),
    );
    const cold = await attempt(`cold query: ${sets.cold.length} customers, upstreams at ${UPSTREAM_LATENCY_MS} ms`, () =>
      coldQuery(primary, sandbox, sets.cold, token),
    );
    const stampeded = await attempt(`stampede: ${STAMPEDE_QUERIES} queries for one cold customer`, () =>
      stampede(primary, sandbox, sets.stampedeCustomer, token, STAMPEDE_QUERIES),
    );
    const enrichmentWarm = await attempt('enrichment, warm customers', () =>
      enrichment(primary, sandbox, { customers: sets.warm.slice(0, 100), upstreamLatencyMs: 0, paceMs: 30 }),
    );
    const enrichmentCold = await attempt(`enrichment, cold customers, upstreams at ${UPSTREAM_LATENCY_MS} ms`, () =>
      enrichment(primary, sandbox, { customers: sets.enrichmentCold, upstreamLatencyMs: UPSTREAM_LATENCY_MS, paceMs: 250 }),
    );
    // Before the memory scenario, which stops this instance.
    const panel = await attempt(`panel: first useful paint, ${sets.panel.length} warm customers in Chromium`, () => panelPaint(flex, sets.panel, token));
    const fresh = await attempt(`freshness: webhook on instance B → event in the panel on instance A, ${FRESHNESS_EVENTS} events`, () =>
      freshness(start, sets.freshness, token, FRESHNESS_EVENTS),
    );
    const memoryRun = {
      unbounded: primary,
      before: memoryBefore,
      keyPrefix: MAIN_PREFIX,
      customers: sets.memory,
      token,
      redisUrl: redis.url,
      maxItems: BOUNDED_L1_ITEMS,
    };
    const memoryResult = await attempt(`memory: ${MEMORY_CUSTOMERS} customers in L1, then in an L1 of ${BOUNDED_L1_ITEMS} items`, () =>
      memory({
        ...memoryRun,
        answersMaxMb: BOUNDED_ANSWERS_MB,
        startBounded: () =>
          start('bench-bounded', {
            REDIS_KEY_PREFIX: MAIN_PREFIX,
            CACHE_L1_MAX_ITEMS: String(BOUNDED_L1_ITEMS),
            CACHE_ANSWERS_MAX_MB: String(BOUNDED_ANSWERS_MB),
          }),
      }),
    );
    const budgeted = await attempt(`budget: ${sets.budget.length} cold customers, SEGMENT_MAX_RPS=${BUDGET_MAX_RPS}`, async () => {
      const service = await start('bench-budget', { SEGMENT_MAX_RPS: String(BUDGET_MAX_RPS) });
      return { ...(await budget(service, sandbox, sets.budget, token)), maxRps: BUDGET_MAX_RPS };
    });
    const results: Results = {
      warm,
      cold,
      stampede: stampeded,
      budget: budgeted,
      enrichmentWarm,
      enrichmentCold,
      memory: memoryResult,
      panel,
      freshness: fresh,
    };
    const outcomes = judge(results);
    printDetails(results);
    printReport(outcomes);
    say(`results in ${writeReport(results, outcomes, startedAt, loadBefore)}`);
  } finally {
    for (const service of services) await service.stop();
    await flex.close();
    await stop(sandbox.proc);
    await redis.stop();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
