import { freePort } from '../../test/support/redis-server';
import { startNode, stop, waitHttp, type Proc } from './processes';
import type { BenchSandbox } from './sandbox';

/** One instance of the service, built (`dist/`), as production runs it: its own process, pointed at the sandbox. */
export interface BenchService {
  proc: Proc;
  url: string;
  /** The URL Twilio signatures are computed over (PUBLIC_BASE_URL). */
  publicBaseUrl: string;
  stop(): Promise<void>;
}

/** Nothing but the budget under test may hold traffic back. */
const UNLIMITED = '1000000000';

export async function startService(
  name: string,
  sandbox: BenchSandbox,
  redisUrl: string,
  env: Record<string, string> = {},
  cpuProfDir?: string,
): Promise<BenchService> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { credentials } = sandbox.info;
  // Memory is read after a full collection (scenarios/memory.ts); BENCH_CPU_PROF=<dir> profiles every instance.
  const profileDir = cpuProfDir ?? process.env.BENCH_CPU_PROF;
  const profiling = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '-r', './bench/support/exit-on-sigterm.js'] : [];
  const args = ['--expose-gc', '-r', './bench/support/gc-on-sigwinch.js', ...profiling, 'dist/main.js'];
  const proc = startNode(name, args, {
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_BASE_URL: url,
    LOG_LEVEL: 'warn',
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `${name}:`,
    SEGMENT_PROFILE_API_URL: sandbox.info.segmentUrl,
    SEGMENT_SPACE_ID: credentials.spaceId,
    SEGMENT_ACCESS_TOKEN: credentials.accessToken,
    TWILIO_API_BASE_URL: sandbox.info.twilioUrl,
    TWILIO_ACCOUNT_SID: credentials.accountSid,
    TWILIO_AUTH_TOKEN: credentials.authToken,
    TWILIO_WORKSPACE_SID: credentials.workspaceSid,
    // Required beside credentials; no scenario posts Segment webhooks.
    SEGMENT_WEBHOOK_SECRET: 'bench-segment-webhook-secret',
    RATE_LIMIT_WORKER_MAX: UNLIMITED,
    RATE_LIMIT_IP_MAX: UNLIMITED,
    SEGMENT_MAX_RPS: '10000',
    ...env,
  });
  try {
    await waitHttp(`${url}/healthz`, proc);
  } catch (error) {
    await stop(proc);
    throw error;
  }
  return { proc, url, publicBaseUrl: url, stop: () => stop(proc) };
}
