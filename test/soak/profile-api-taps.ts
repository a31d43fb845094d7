import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TappedCall {
  instance: number;
  /** Arrival at the tap, ms since the epoch. */
  at: number;
}

/**
 * One loopback proxy per service instance in front of the sandbox's Profile API, so the soak can
 * tell which instance made each call (the sandbox sees the calls, not who made them). Each
 * instance is configured with its own tap as SEGMENT_PROFILE_API_URL; the tap forwards every
 * request and answer unchanged and notes the arrival, one loopback hop before the sandbox does.
 */
export class ProfileApiTaps {
  private readonly servers: http.Server[] = [];
  private readonly agent = new http.Agent({ keepAlive: true });
  private calls: TappedCall[] = [];

  /** A tap for `instance` in front of `target`; answers its URL. */
  async open(instance: number, target: string): Promise<string> {
    const upstream = new URL(target);
    const base = upstream.pathname.replace(/\/$/, '');
    const server = http.createServer((request, response) => {
      this.calls.push({ instance, at: Date.now() });
      const forward = http.request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: request.method,
          path: `${base}${request.url ?? '/'}`,
          headers: request.headers,
          agent: this.agent,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
        },
      );
      forward.on('error', () => response.destroy());
      // The instance gave up (its timeout): so does the tap, as the sandbox would see it.
      response.on('close', () => forward.destroy());
      request.pipe(forward);
    });
    server.keepAliveTimeout = 72_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}${base}`;
  }

  /** Calls per instance that arrived in [from, to). */
  countsBetween(from: number, to: number, instances: number): number[] {
    const counts = Array.from({ length: instances }, () => 0);
    for (const call of this.calls) if (call.at >= from && call.at < to) counts[call.instance] += 1;
    return counts;
  }

  /** Per instance, its busiest calendar second on its own. */
  busiestSecondOf(instance: number): { at: number; calls: number } {
    const perSecond = new Map<number, number>();
    let busiest = { at: 0, calls: 0 };
    for (const call of this.calls) {
      if (call.instance !== instance) continue;
      const second = Math.floor(call.at / 1000);
      const n = (perSecond.get(second) ?? 0) + 1;
      perSecond.set(second, n);
      if (n > busiest.calls) busiest = { at: second * 1000, calls: n };
    }
    return busiest;
  }

  /** The most calls (all instances) inside any `windowMs` window within [from, to). */
  densestWindow(from: number, to: number, windowMs: number): number {
    const times = this.calls
      .filter((c) => c.at >= from && c.at < to)
      .map((c) => c.at)
      .sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; j < times.length; j++) {
      while (times[j] - times[i] >= windowMs) i++;
      most = Math.max(most, j - i + 1);
    }
    return most;
  }

  reset(): void {
    this.calls = [];
  }

  async close(): Promise<void> {
    this.agent.destroy();
    await Promise.all(
      this.servers.map(
        (server) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      ),
    );
  }
}

/**
 * Notes when this process's event loop stalled (the sandbox runs in it: a call that arrives
 * during a stall is recorded when the loop comes back, bunched with the next ones).
 */
export function watchStalls(thresholdMs = 50): { stalls: Array<{ at: number; ms: number }>; stop(): void } {
  const stalls: Array<{ at: number; ms: number }> = [];
  const tickMs = 10;
  let last = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - last - tickMs > thresholdMs) stalls.push({ at: now, ms: now - last - tickMs });
    last = now;
  }, tickMs);
  timer.unref();
  return { stalls, stop: () => clearInterval(timer) };
}
