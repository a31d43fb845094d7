import Redis from 'ioredis';
import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { forEachLimit, panelBody, postGraphQL } from '../support/graphql';
import type { BenchService } from '../support/service';

/**
 * Memory with many customers in L1. Heap figures are taken after a full garbage collection
 * (the benchmark starts instances with --expose-gc and a SIGWINCH hook), so they count live data.
 * L1 holds the same serialised entries as Redis, so Redis tells how many there are and their size.
 */
export interface MemorySnapshot {
  rssMb: number;
  heapUsedMb: number;
}

export interface L1Fill {
  customers: number;
  before: MemorySnapshot;
  after: MemorySnapshot;
  heapGrowthMb: number;
}

export interface MemoryResult {
  /** L1 large enough for every customer. */
  unbounded: L1Fill & { entries: number; serialisedMb: number; heapKbPerCustomer: number };
  /** L1 bounded by CACHE_L1_MAX_ITEMS, reading the same customers from Redis. */
  bounded: L1Fill & {
    maxItems: number;
    answersMaxMb: number;
    /** Heap once the first customers have filled L1 past its bound (and the code is warm). */
    atBound: MemorySnapshot;
    /** Growth from there to the last customer: what L1 must not add. */
    pastBoundMb: number;
    /** What the unbounded L1 grew over the same customers. */
    unboundedSameCustomersMb: number;
  };
}

const MB = 1024 * 1024;

export async function snapshot(service: BenchService): Promise<MemorySnapshot> {
  service.proc.child.kill('SIGWINCH');
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
  return { rssMb: value('process_resident_memory_bytes') / MB, heapUsedMb: value('nodejs_heap_size_used_bytes') / MB };
}

/** Asks for every customer (20 at a time); answers are checked only for success. */
export async function fill(service: BenchService, customers: SandboxCustomer[], token: string): Promise<void> {
  await forEachLimit(customers, 20, async (customer) => {
    const answer = await postGraphQL(service.url, token, panelBody(customer));
    if (answer.status !== 200 || answer.errors) throw new Error(`query for customer ${customer.index} failed: ${answer.status} ${answer.text.slice(0, 300)}`);
  });
}

/** Cache entries an instance wrote to Redis under its key prefix, and their total size. */
async function cacheEntries(redisUrl: string, keyPrefix: string): Promise<{ entries: number; bytes: number }> {
  const redis = new Redis(redisUrl);
  let entries = 0;
  let bytes = 0;
  try {
    for await (const keys of redis.scanStream({ match: `${keyPrefix}c:*`, count: 1_000 }) as AsyncIterable<string[]>) {
      const lengths = await redis.pipeline(keys.map((key) => ['strlen', key])).exec();
      for (const [, length] of lengths ?? []) {
        entries += 1;
        bytes += Number(length);
      }
    }
  } finally {
    redis.disconnect();
  }
  return { entries, bytes };
}

function growth(customers: number, before: MemorySnapshot, after: MemorySnapshot): L1Fill {
  return { customers, before, after, heapGrowthMb: after.heapUsedMb - before.heapUsedMb };
}

export interface MemoryRun {
  /** The instance whose L1 holds everything, `before` taken after its first queries. */
  unbounded: BenchService;
  before: MemorySnapshot;
  /** Its key prefix: the bounded instance shares it, so it reads the customers from Redis. */
  keyPrefix: string;
  customers: SandboxCustomer[];
  token: string;
  redisUrl: string;
  maxItems: number;
  /** CACHE_ANSWERS_MAX_MB of the bounded instance: kept answers fill it before L1 is full. */
  answersMaxMb: number;
  /** Starts the bounded instance (CACHE_L1_MAX_ITEMS = maxItems, same key prefix). */
  startBounded(): Promise<BenchService>;
}

/**
 * Fills the unbounded L1 with every customer, then has an instance with a bounded L1 read the
 * same customers: once L1 is past its bound, its heap must stay flat.
 */
export async function memory(run: MemoryRun): Promise<MemoryResult> {
  const { customers, token } = run;
  await fill(run.unbounded, customers, token);
  const unbounded = growth(customers.length, run.before, await snapshot(run.unbounded));
  const stored = await cacheEntries(run.redisUrl, run.keyPrefix);
  await run.unbounded.stop();

  const bounded = await run.startBounded();
  await fill(bounded, customers.slice(0, 5), token);
  const before = await snapshot(bounded);
  // Customers enough for twice the bound's entries: L1 is full and evicting from here on.
  const toBound = Math.min(customers.length, Math.ceil((2 * run.maxItems * customers.length) / stored.entries));
  await fill(bounded, customers.slice(0, toBound), token);
  const atBound = await snapshot(bounded);
  await fill(bounded, customers.slice(toBound), token);
  const after = await snapshot(bounded);
  return {
    unbounded: {
      ...unbounded,
      entries: stored.entries,
      serialisedMb: stored.bytes / MB,
      heapKbPerCustomer: (unbounded.heapGrowthMb * 1024) / customers.length,
    },
    bounded: {
      ...growth(customers.length, before, after),
      maxItems: run.maxItems,
      answersMaxMb: run.answersMaxMb,
      atBound,
      pastBoundMb: after.heapUsedMb - atBound.heapUsedMb,
      unboundedSameCustomersMb: (unbounded.heapGrowthMb * (customers.length - toBound)) / customers.length,
    },
  };
}
