import type { SandboxCustomer } from '../../src/sandbox/sandbox';
import { forEachLimit, lookupOf, PANEL_QUERY, postGraphQL } from '../support/graphql';
import type { BenchSandbox } from '../support/sandbox';
import type { BenchService } from '../support/service';

/**
 * Budget: a burst of distinct customers nothing is cached for, against an instance whose Profile
 * API budget is SEGMENT_MAX_RPS. Queries past the budget answer partially (BUDGET_EXHAUSTED in
 * freshness) instead of calling Segment.
 */
export const BUDGET_MAX_RPS = 50;
const CONCURRENCY = 100;

/** The panel query with freshness, to tell complete answers from partial ones. */
const QUERY = PANEL_QUERY.replace(/\n {2}}\n}$/, '\n    freshness { sources { source error } }\n  }\n}');

export interface BudgetResult {
  queries: number;
  complete: number;
  /** Answered without some Segment part because the budget was spent. */
  partial: number;
  segmentCalls: number;
  /** The most Segment calls in one calendar second (the sandbox's count)... */
  maxPerCalendarSecond: number;
  /** ...and in any 1,000 ms window. */
  maxPerSlidingSecond: number;
  durationSec: number;
}

export async function budget(service: BenchService, sandbox: BenchSandbox, customers: SandboxCustomer[], token: string): Promise<BudgetResult> {
  await sandbox.resetCalls();
  let complete = 0;
  let partial = 0;
  const startedAt = Date.now();
  await forEachLimit(customers, CONCURRENCY, async (customer) => {
    const answer = await postGraphQL(service.url, token, JSON.stringify({ query: QUERY, variables: { lookup: lookupOf(customer) } }));
    const sources =
      (JSON.parse(answer.text) as { data?: { customerContext?: { freshness: { sources: Array<{ error: string | null }> } } | null } }).data?.customerContext
        ?.freshness.sources ?? [];
    const errors = sources.map((s) => s.error).filter((e): e is string => e !== null);
    if (answer.status !== 200 || answer.errors || errors.some((e) => e !== 'BUDGET_EXHAUSTED')) {
      throw new Error(`budget query for customer ${customer.index} failed: ${answer.status} ${answer.text.slice(0, 300)}`);
    }
    if (errors.length > 0) partial += 1;
    else complete += 1;
  });
  const durationSec = (Date.now() - startedAt) / 1000;
  const arrivals = (await sandbox.calls())
    .filter((call) => call.service === 'segment')
    .map((call) => call.at)
    .sort((a, b) => a - b);
  return {
    queries: customers.length,
    complete,
    partial,
    segmentCalls: arrivals.length,
    maxPerCalendarSecond: maxPerCalendarSecond(arrivals),
    maxPerSlidingSecond: maxPerWindow(arrivals, 1000),
    durationSec,
  };
}

function maxPerCalendarSecond(sortedAt: number[]): number {
  const perSecond = new Map<number, number>();
  for (const at of sortedAt) perSecond.set(Math.floor(at / 1000), (perSecond.get(Math.floor(at / 1000)) ?? 0) + 1);
  return Math.max(0, ...perSecond.values());
}

function maxPerWindow(sortedAt: number[], windowMs: number): number {
  let max = 0;
  let start = 0;
  for (let end = 0; end < sortedAt.length; end++) {
    while (sortedAt[end] - sortedAt[start] >= windowMs) start++;
    max = Math.max(max, end - start + 1);
  }
  return max;
}
