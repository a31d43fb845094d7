import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '../scripts/test-prerequisites.mjs');

/** Runs the pre-test check as `npm test` does, with the given PATH and CHROMIUM_PATH. */
function check(path: string, chromiumPath: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [SCRIPT], { env: { PATH: path, CHROMIUM_PATH: chromiumPath }, encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('test prerequisites (npm pretest)', () => {
  let empty: string;
  let tools: string;

  beforeAll(() => {
    empty = mkdtempSync(join(tmpdir(), 'prereq-empty-'));
    tools = mkdtempSync(join(tmpdir(), 'prereq-tools-'));
    for (const name of ['redis-server', 'redis-cli', 'chromium']) {
      writeFileSync(join(tools, name), '#!/bin/sh\nexit 0\n');
      chmodSync(join(tools, name), 0o755);
    }
  });

  afterAll(() => {
    rmSync(empty, { recursive: true, force: true });
    rmSync(tools, { recursive: true, force: true });
  });

  it('stops at once with the one command to run when nothing is installed and apt-get is out of reach', () => {
    const { status, stdout, stderr } = check(empty, join(empty, 'chromium'));
    expect(status).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('missing redis-server, redis-cli, chromium');
    expect(lines[0]).toContain('apt-get install -y --no-install-recommends redis-server redis-tools chromium');
    expect(lines[0]).toContain(`CHROMIUM_PATH, now ${join(empty, 'chromium')}`);
  });

  it('names only what is missing', () => {
    const { status, stderr } = check(tools, join(empty, 'chromium'));
    expect(status).toBe(1);
    expect(stderr).toContain('missing chromium;');
    expect(stderr).toContain('--no-install-recommends chromium');
    expect(stderr).not.toContain('redis-tools');
  });

  it('passes silently when everything is there', () => {
    expect(check(tools, join(tools, 'chromium'))).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
