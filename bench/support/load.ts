import autocannon from 'autocannon';

/** Load from one autocannon instance in this process; latencies kept to the microsecond, not autocannon's whole milliseconds. */
export interface LoadOptions {
  url: string;
  headers: Record<string, string>;
  /** Request bodies, sent in turn. */
  bodies: readonly string[];
  connections: number;
  /** Stops after this long (seconds)... */
  durationSec?: number;
  /** ...or after this many requests. */
  amount?: number;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Answers other than 2xx, plus connection errors and timeouts. */
  failures: number;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  let turn = 0;
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: 'POST',
        headers: { 'content-type': 'application/json', ...options.headers },
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.durationSec ?? 10 }),
        timeout: 30,
        requests: [{ setupRequest: (request) => ({ ...request, body: options.bodies[turn++ % options.bodies.length] }) }],
      },
      (error: unknown, finished) => (error ? reject(error instanceof Error ? error : new Error('autocannon failed', { cause: error })) : resolve(finished)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    rps: latencies.length / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}
