import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

/**
 * Builds a Vite project of this repository (`panel`, `flex-plugin`) when `output` is missing or
 * older than any of its `sources`, so a browser test never runs a stale bundle.
 */
export function ensureViteBuilt(project: string, output: string, sources: string[]): void {
  const newest = (path: string): number =>
    statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : statSync(path).mtimeMs;
  const built = join(ROOT, project, output);
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map((path) => newest(join(ROOT, project, path))))) return;
  // Jest sets NODE_ENV=test, which would build debug bundles: build what production serves.
  const env = { ...process.env, NODE_ENV: 'production' };
  execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', project, '--logLevel', 'warn'], { cwd: ROOT, env, stdio: 'inherit' });
}
