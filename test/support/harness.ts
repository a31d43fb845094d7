import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp } from '../../src/app';
import { loadConfig, type AppConfig } from '../../src/config/config';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox';
import { sandboxConfig } from '../../src/sandbox/sandbox-config';

/**
 * The whole service as a user runs it: real adapters over HTTP to a sandbox on loopback, and the
 * run's real redis-server (TEST_REDIS_URL) unless a test passes `redis: false` or its own URL.
 */
export interface Harness {
  app: NestFastifyApplication;
  url: string;
  sandbox: Sandbox;
  config: AppConfig;
  /** Sends the sandbox agent's Flex token unless `headers` are given (then exactly those). */
  gql<T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GqlResult<T>>;
  close(): Promise<void>;
}

export interface GqlResult<T> {
  status: number;
  data: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export interface HarnessOptions {
  env?: Record<string, string>;
  redis?: string | false;
  sandbox?: SandboxOptions | Sandbox;
  /** Each harness gets its own key prefix so tests never read each other's cache. */
  keyPrefix?: string;
}

let counter = 0;

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const ownSandbox = !(options.sandbox && 'close' in options.sandbox);
  const sandbox = ownSandbox ? await startSandbox({ quiet: true, ...(options.sandbox as SandboxOptions | undefined) }) : (options.sandbox as Sandbox);
  const redisUrl = options.redis === false ? undefined : (options.redis ?? process.env.TEST_REDIS_URL);
  const env: Record<string, string> = {
    LOG_LEVEL: 'silent',
    // The audit trail is always written; tests that read it give their own file.
    AUDIT_LOG_FILE: '/dev/null',
    PORT: '0',
    REDIS_KEY_PREFIX: options.keyPrefix ?? `t${process.pid}x${++counter}x${Date.now() % 100000}:`,
    UPSTREAM_TIMEOUT_MS: '500',
    ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
    ...options.env,
  };
  const config = sandboxConfig(loadConfig(env), sandbox);
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = await app.getUrl();
  return {
    app,
    url,
    sandbox,
    config,
    async gql<T>(
      query: string,
      variables?: Record<string, unknown>,
      headers: Record<string, string> = { authorization: `Bearer ${sandbox.credentials.agentToken}` },
    ) {
      const response = await fetch(`${url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: T; errors?: GqlResult<T>['errors'] };
      return { status: response.status, data: body.data ?? null, errors: body.errors };
    },
    async close() {
      await app.close();
      if (ownSandbox) await sandbox.close();
    },
  };
}
