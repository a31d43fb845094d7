import { Agent, request } from 'node:http';
import { percentile, type LoadResult } from './load';

/**
 * Open-loop load: requests sent at a steady rate whatever the answers do, over at most
 * `connections` keep-alive sockets. Latency counts from when a request was due, so time spent
 * waiting for a free socket counts too. (autocannon's own rate limit sends each second's quota
 * in a burst at its start, which measures the burst, not the rate.)
 */
export interface PacedOptions {
  url: string;
  headers: Record<string, string>;
  bodies: readonly string[];
  connections: number;
  /** Requests per second. */
  rate: number;
  durationSec: number;
}

export async function paced(options: PacedOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const total = Math.round(options.rate * options.durationSec);
  const interval = 1000 / options.rate;
  const latencies: number[] = [];
  let failures = 0;
  const sent: Array<Promise<void>> = [];
  const startedAt = performance.now();
  try {
    for (let i = 0; i < total; i++) {
      const due = startedAt + i * interval;
      const wait = due - performance.now();
      if (wait >= 1) await new Promise((resolve) => setTimeout(resolve, wait));
      sent.push(
        post(agent, options, options.bodies[i % options.bodies.length]).then(
          (status) => (status >= 200 && status < 300 ? void latencies.push(performance.now() - due) : void failures++),
          () => void failures++,
        ),
      );
    }
    await Promise.all(sent);
  } finally {
    agent.destroy();
  }
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    rps: latencies.length / ((performance.now() - startedAt) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies.at(-1) ?? Number.NaN,
    failures,
  };
}

function post(agent: Agent, options: PacedOptions, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      options.url,
      { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...options.headers } },
      (res) => {
        res.resume();
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.once('error', reject);
      },
    );
    req.once('error', reject);
    req.end(body);
  });
}
