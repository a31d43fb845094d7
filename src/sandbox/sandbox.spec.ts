import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { seedWorld } from './seed';
import { startSandbox, type CallRecord, type SandboxCredentials } from './sandbox';

describe('startSandbox', () => {
  // How fast it starts is the benchmarks' business; here only that 10,000 customers are served.
  it('starts with 10,000 customers and serves the last one', async () => {
    const sandbox = await startSandbox({ customers: 10_000, quiet: true });
    try {
      expect(sandbox.data.customers).toHaveLength(10_000);
      const last = sandbox.data.customers[9_999];
      const id = last.userId ? `user_id:${encodeURIComponent(last.userId)}` : `anonymous_id:${encodeURIComponent(last.anonymousIds[0])}`;
      const response = await fetch(`${sandbox.segmentUrl}/v1/spaces/${sandbox.credentials.spaceId}/collections/users/profiles/${id}/traits`, {
        headers: { authorization: 'Basic ' + Buffer.from(`${sandbox.credentials.accessToken}:`).toString('base64') },
      });
      expect(response.status).toBe(200);
    } finally {
      await sandbox.close();
    }
  });

  it('gives three servers, each with its own base URL, and credentials from the seed', async () => {
    const sandbox = await startSandbox({ customers: 6, seed: 7, quiet: true });
    try {
      const urls = [sandbox.segmentUrl, sandbox.trackingUrl, sandbox.twilioUrl];
      expect(new Set(urls).size).toBe(3);
      for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const world = seedWorld(7);
      expect(sandbox.credentials).toMatchObject({
        spaceId: world.spaceId,
        accountSid: world.accountSid,
        workspaceSid: world.workspaceSid,
        writeKey: world.writeKey,
      });
    } finally {
      await sandbox.close();
    }
  });

  it('draws a new auth token at every start, so nobody can forge its Twilio signatures or Flex tokens from the seed', async () => {
    const [first, second] = [await startSandbox({ customers: 6, seed: 7, quiet: true }), await startSandbox({ customers: 6, seed: 7, quiet: true })];
    try {
      expect(first.credentials.accountSid).toBe(second.credentials.accountSid);
      expect(first.credentials.authToken).not.toBe(second.credentials.authToken);
      expect(first.credentials.authToken).not.toBe(seedWorld(7).authToken);
      expect(first.credentials.authToken).toMatch(/^[0-9a-f]{32}$/);
      // A Flex token issued by one is refused by the other.
      const validate = (sandbox: typeof first, token: string) =>
        fetch(`${sandbox.twilioUrl}/v1/Accounts/${sandbox.credentials.accountSid}/Tokens/validate`, {
          method: 'POST',
          headers: {
            authorization: 'Basic ' + Buffer.from(`${sandbox.credentials.accountSid}:${sandbox.credentials.authToken}`).toString('base64'),
            'content-type': 'application/json',
          },
          body: JSON.stringify({ token }),
        }).then(async (r) => ((await r.json()) as { valid?: boolean }).valid);
      expect(await validate(first, first.credentials.agentToken)).toBe(true);
      expect(await validate(second, first.credentials.agentToken)).toBe(false);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('refuses a bad customer count', async () => {
    await expect(startSandbox({ customers: -1, quiet: true })).rejects.toThrow(/customers/);
  });
});

describe('sandbox CLI (src/sandbox/main.ts)', () => {
  it('prints its URLs and credentials as one JSON line and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'main.ts')], {
      cwd: join(__dirname, '../..'),
      env: { ...process.env, SANDBOX_CUSTOMERS: '12', SANDBOX_SEED: '7', TS_NODE_PROJECT: join(__dirname, '../../tsconfig.json') },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const printed = JSON.parse(line) as { segmentUrl: string; trackingUrl: string; twilioUrl: string; credentials: SandboxCredentials };
      expect(printed.credentials.accountSid).toBe(seedWorld(7).accountSid);
      expect(printed.credentials.agentToken).toEqual(expect.any(String));

      const auth = 'Basic ' + Buffer.from(`${printed.credentials.accountSid}:${printed.credentials.authToken}`).toString('base64');
      expect((await fetch(`${printed.twilioUrl}/v1/Workspaces/${printed.credentials.workspaceSid}/Tasks`, { headers: { authorization: auth } })).status).toBe(
        200,
      );
      const { log } = (await (await fetch(`${printed.segmentUrl}/__sandbox/calls`)).json()) as { log: CallRecord[] };
      expect(log.map((c) => c.route)).toEqual(['tasks_list']);

      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      expect(await exited).toEqual([0, null]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 20_000);
});
