import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { eventually } from './eventually';
import { freePort } from './redis-server';

/** A real 3-master Redis Cluster on loopback (redis-server --cluster-enabled + redis-cli --cluster create). */
export interface RedisClusterServer {
  nodes: string;
  stop(): Promise<void>;
  /** Stops every node (keeping its cluster config) and starts them again. */
  restart(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export async function startRedisCluster(): Promise<RedisClusterServer> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const dirs = ports.map(() => mkdtempSync(join(tmpdir(), 'cc-cluster-')));
  let children: ChildProcess[] = [];
  const launch = () => {
    children = ports.map((port, i) =>
      spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dirs[i],
        ],
        { stdio: 'ignore' },
      ),
    );
  };
  const kill = async () => {
    await Promise.all(
      children.map((child) =>
        child.exitCode === null
          ? new Promise<void>((resolve) => {
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
            })
          : Promise.resolve(),
      ),
    );
  };
  /** Slots assigned, and a write through a cluster client lands. */
  const clusterServes = async (): Promise<boolean> => {
    const info = spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], { encoding: 'utf8' });
    if (!info.stdout?.includes('cluster_state:ok')) return false;
    const client = new Cluster(
      ports.map((port) => ({ host: '127.0.0.1', port })),
      { enableOfflineQueue: true },
    );
    client.on('error', () => undefined);
    try {
      await client.set('cc:cluster-probe', '1');
      return true;
    } catch {
      return false; // slots still settling
    } finally {
      client.disconnect();
    }
  };
  const waitReady = () => eventually(clusterServes, (serves) => serves, 20_000, 'the redis cluster serving');
  /** Every node answers PING (so `redis-cli --cluster create` finds them). */
  const listening = () =>
    eventually(
      () => ports.map((port) => spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim()),
      (answers) => answers.every((answer) => answer === 'PONG'),
      10_000,
      'the cluster nodes listening',
    );
  launch();
  await listening();
  const created = spawnSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
    encoding: 'utf8',
  });
  if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
  await waitReady();
  return {
    nodes: ports.map((p) => `127.0.0.1:${p}`).join(','),
    kill,
    async start() {
      launch();
      await waitReady();
    },
    async restart() {
      await kill();
      launch();
      await waitReady();
    },
    async stop() {
      await kill();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
