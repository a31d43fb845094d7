#!/usr/bin/env node
// Runs before `npm test` (npm's `pretest`): the suite starts its own redis-server and drives
// Debian's Chromium, so check both are here before jest prints a wall of failures. As root on
// Debian or Ubuntu the missing packages are installed with apt-get; anywhere else the check
// stops at once with the one command that fixes it.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** What the tests need, and the Debian package that brings it. */
const NEEDS = [
  { what: 'redis-server', pkg: 'redis-server', find: () => onPath('redis-server') },
  { what: 'redis-cli', pkg: 'redis-tools', find: () => onPath('redis-cli') },
  { what: 'chromium', pkg: 'chromium', find: chromium },
];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && executable(join(dir, name)));
}

function chromium() {
  return executable(process.env.CHROMIUM_PATH || '/usr/bin/chromium');
}

function missing() {
  return NEEDS.filter((need) => !need.find());
}

function mayInstall() {
  return typeof process.getuid === 'function' && process.getuid() === 0 && onPath('apt-get');
}

function run(args) {
  const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status === 0;
}

const absent = missing();
if (absent.length === 0) process.exit(0);

const packages = [...new Set(absent.map((need) => need.pkg))];
const names = absent.map((need) => need.what).join(', ');
const chromiumHint =
  process.env.CHROMIUM_PATH && absent.some((need) => need.what === 'chromium')
    ? ` (or point CHROMIUM_PATH, now ${process.env.CHROMIUM_PATH}, at a Chromium)`
    : '';

if (mayInstall()) {
  console.log(`test prerequisites: installing ${packages.join(' ')} with apt-get for ${names} (the tests start their own Redis and drive Chromium)`);
  if (run(['update', '-qq']) && run(['install', '-y', '-qq', '--no-install-recommends', ...packages])) {
    const still = missing();
    if (still.length === 0) process.exit(0);
    console.error(`test prerequisites: still missing after apt-get: ${still.map((need) => need.what).join(', ')}${chromiumHint}`);
    process.exit(1);
  }
  console.error(`test prerequisites: apt-get could not install ${packages.join(' ')}; install them and run the tests again${chromiumHint}`);
  process.exit(1);
}

console.error(`test prerequisites: missing ${names}; install with: sudo apt-get install -y --no-install-recommends ${packages.join(' ')}${chromiumHint}`);
process.exit(1);
