import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

/** `main` as an operator starts it: a wrong setting must stop the start, not switch a side to demo data. */
describe('starting the service', () => {
  jest.setTimeout(60_000);
  const start = async (env: Record<string, string>): Promise<{ code: number | null; stderr: string }> => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, '..', 'src', 'main.ts')], {
      env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stderr };
  };

  it('exits 78 naming the missing half of a credential pair, and never prints the half that is set', async () => {
    const secret = 'a-twilio-auth-token-that-must-not-be-printed';
    const { code, stderr } = await start({ TWILIO_AUTH_TOKEN: secret });
    expect(code).toBe(78);
    expect(stderr).toMatch(/^ {2}TWILIO_ACCOUNT_SID: missing/m);
    expect(stderr).toMatch(/^ {2}SEGMENT_SPACE_ID: missing/m);
    expect(stderr).not.toContain(secret);
  });

  it('exits 78 with NODE_ENV=production and no credentials, rather than serving the sandbox', async () => {
    const { code, stderr } = await start({ NODE_ENV: 'production' });
    expect(code).toBe(78);
    expect(stderr).toMatch(/^ {2}SEGMENT_WEBHOOK_SECRET: missing/m);
  });
});
