import type { SandboxRoute, SandboxService } from './faults';

export interface CallRecord {
  service: SandboxService;
  route: SandboxRoute | 'unknown';
  method: string;
  /** Path and query string as received (still URL-encoded). */
  path: string;
  /** Status of the answer; 0 while unanswered (or never answered: a `timeout` fault). */
  status: number;
  /** Arrival, ms since the epoch. */
  at: number;
}

/** `status: 0` selects the calls not answered yet (in flight, or held by a `timeout` fault). */
export type CallFilter = Partial<Pick<CallRecord, 'service' | 'route' | 'method' | 'status'>>;

/** Every upstream call the sandbox saw, so tests and benchmarks can assert on traffic. */
export class CallLog {
  private records: CallRecord[] = [];

  record(call: CallRecord): void {
    this.records.push(call);
  }

  log(): CallRecord[] {
    return this.records.map((call) => ({ ...call }));
  }

  count(filter: CallFilter = {}): number {
    let n = 0;
    for (const call of this.records) if (matches(call, filter)) n++;
    return n;
  }

  /** The highest number of calls recorded in any one calendar second. */
  maxPerSecond(service: SandboxService, route?: SandboxRoute): number {
    return this.busiestSecond(service, route).calls;
  }

  /** The calendar second with the most calls (its start, ms since the epoch) and how many. */
  busiestSecond(service: SandboxService, route?: SandboxRoute): { at: number; calls: number } {
    const perSecond = new Map<number, number>();
    let busiest = { at: 0, calls: 0 };
    for (const call of this.records) {
      if (call.service !== service || (route !== undefined && call.route !== route)) continue;
      const second = Math.floor(call.at / 1000);
      const n = (perSecond.get(second) ?? 0) + 1;
      perSecond.set(second, n);
      if (n > busiest.calls) busiest = { at: second * 1000, calls: n };
    }
    return busiest;
  }

  reset(): void {
    this.records = [];
  }
}

function matches(call: CallRecord, filter: CallFilter): boolean {
  return (
    (filter.service === undefined || call.service === filter.service) &&
    (filter.route === undefined || call.route === filter.route) &&
    (filter.method === undefined || call.method === filter.method.toUpperCase()) &&
    (filter.status === undefined || call.status === filter.status)
  );
}
