import { Injectable } from '@nestjs/common';
import { Counter, Histogram, Registry } from 'prom-client';
import { DomainError } from '../common/errors';

export interface UpstreamHealth {
  source: string;
  lastOkAt: number | null;
  lastErrorAt: number | null;
  lastError: string | null;
  consecutiveFailures: number;
}

/**
 * Counts and times every upstream call (Prometheus), and keeps the last outcome per source so
 * `/readyz` can say which upstream is failing.
 */
@Injectable()
export class UpstreamMetrics {
  private readonly calls: Counter<'source' | 'route' | 'outcome'>;
  private readonly latency: Histogram<'source' | 'route'>;
  private readonly health = new Map<string, UpstreamHealth>();

  /** `registry`: the service's (MetricsModule); built alone, as unit tests do, it keeps its own. */
  constructor(registry: Registry = new Registry()) {
    this.calls = new Counter({
      name: 'cc_upstream_calls_total',
      help: 'Upstream calls by source, route and outcome (ok, or the error code)',
      labelNames: ['source', 'route', 'outcome'] as const,
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'cc_upstream_call_seconds',
      help: 'Upstream call latency, retries included',
      labelNames: ['source', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers: [registry],
    });
  }

  async observe<T>(source: string, route: string, call: () => Promise<T>): Promise<T> {
    const end = this.latency.startTimer({ source, route });
    const state = this.stateOf(source);
    try {
      const result = await call();
      this.calls.inc({ source, route, outcome: 'ok' });
      state.lastOkAt = Date.now();
      state.consecutiveFailures = 0;
      return result;
    } catch (error) {
      const code = error instanceof DomainError ? error.code : 'INTERNAL';
      this.calls.inc({ source, route, outcome: code });
      state.lastErrorAt = Date.now();
      state.lastError = code;
      state.consecutiveFailures += 1;
      throw error;
    } finally {
      end();
    }
  }

  snapshot(): UpstreamHealth[] {
    return [...this.health.values()].map((h) => ({ ...h }));
  }

  private stateOf(source: string): UpstreamHealth {
    let state = this.health.get(source);
    if (!state) {
      state = { source, lastOkAt: null, lastErrorAt: null, lastError: null, consecutiveFailures: 0 };
      this.health.set(source, state);
    }
    return state;
  }
}
