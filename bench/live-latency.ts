import { createHmac } from 'node:crypto';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startSandbox } from '../src/sandbox/sandbox';
import { freePort, startRedisServer } from '../test/support/redis-server';
import { startNode, stop, waitHttp } from '../test/soak/processes';

/**
 * Webhook received → subscriber notified, across two service processes sharing Redis: a signed
 * Segment track is posted to instance A while a graphql-ws client listens on instance B.
 * Bounded: LIVE_SAMPLES (300) webhooks, one at a time.
 */
const SECRET = 'bench-secret';
const SAMPLES = Number(process.env.LIVE_SAMPLES ?? 300);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function main(): Promise<void> {
  const redis = await startRedisServer();
  const sandbox = await startSandbox({ customers: 100, quiet: true });
  const ports = [await freePort(), await freePort()];
  const env = (port: number) => ({
    PORT: String(port),
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'warn',
    REDIS_URL: redis.url,
    SEGMENT_WEBHOOK_SECRET: SECRET,
    SEGMENT_SPACE_ID: sandbox.credentials.spaceId,
    SEGMENT_ACCESS_TOKEN: sandbox.credentials.accessToken,
    SEGMENT_PROFILE_API_URL: sandbox.segmentUrl,
    TWILIO_ACCOUNT_SID: sandbox.credentials.accountSid,
    TWILIO_AUTH_TOKEN: sandbox.credentials.authToken,
    TWILIO_WORKSPACE_SID: sandbox.credentials.workspaceSid,
    TWILIO_API_BASE_URL: sandbox.twilioUrl,
    RATE_LIMIT_WORKER_MAX: '10000000',
    RATE_LIMIT_IP_MAX: '10000000',
  });
  const procs = ports.map((port, i) => startNode(`live-${i}`, 'dist/main.js', env(port)));
  try {
    await Promise.all(ports.map((port) => waitHttp(`http://127.0.0.1:${port}/healthz`)));
    const [a, b] = ports.map((port) => `http://127.0.0.1:${port}`);
    const customer = sandbox.data.customers.find((c) => c.index > 5 && c.userId && c.profileId)!;
    // The customer must be known (cached) for a webhook to apply.
    await fetch(`${b}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${sandbox.credentials.agentToken}` },
      body: JSON.stringify({ query: `{ customerContext(lookup: {userId: "${customer.userId}"}) { profileId } }` }),
    });
    const waiting = new Map<string, (at: number) => void>();
    const client = createClient({
      url: `${b.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { token: sandbox.credentials.agentToken },
      lazy: false,
    });
    client.subscribe<{ customerContextChanged: { event: { id: string } | null } }>(
      { query: `subscription { customerContextChanged(profileId: "${customer.profileId}") { event { id } } }` },
      {
        next: (v) => {
          const id = v.data?.customerContextChanged.event?.id;
          if (id) waiting.get(id)?.(performance.now());
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES + 20; i++) {
      const messageId = `bench-${i}-${Date.now()}`;
      const body = JSON.stringify({ type: 'track', event: 'Bench Event', userId: customer.userId, messageId, timestamp: new Date().toISOString() });
      const received = new Promise<number>((resolve, reject) => {
        waiting.set(messageId, resolve);
        setTimeout(() => reject(new Error(`no push for ${messageId}`)), 5_000).unref();
      });
      const sent = performance.now();
      await fetch(`${a}/webhooks/segment`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-signature': createHmac('sha1', SECRET).update(body).digest('hex') },
        body,
      });
      const at = await received;
      if (i >= 20) latencies.push(at - sent); // the first 20 warm up
    }
    await client.dispose();
    latencies.sort((x, y) => x - y);
    const result = {
      samples: latencies.length,
      p50_ms: +percentile(latencies, 50).toFixed(2),
      p99_ms: +percentile(latencies, 99).toFixed(2),
      max_ms: +latencies.at(-1)!.toFixed(2),
    };
    process.stdout.write(
      `webhook received → subscriber notified (2 instances): p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms over ${result.samples} webhooks\n`,
    );
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', 'live-latency.json'), `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`);
  } finally {
    await Promise.all(procs.map((p) => stop(p)));
    await sandbox.close();
    await redis.stop();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
