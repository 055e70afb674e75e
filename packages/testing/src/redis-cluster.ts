import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { freePort, OwnRedis } from './redis-server';

const run = promisify(execFile);

/** `count` distinct free ports. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/**
 * A Redis Cluster of the test's own: `masters` redis-servers (OwnRedis, in cluster mode, no
 * replicas) on free ports, their slots assigned by `redis-cli --cluster create`, in a temporary
 * directory that stop() removes. The 6379 Redis is never touched.
 */
export class OwnRedisCluster {
  private constructor(
    readonly nodes: readonly OwnRedis[],
    private readonly dir: string,
  ) {}

  static async start(options: { masters?: number } = {}): Promise<OwnRedisCluster> {
    const masters = options.masters ?? 3;
    const dir = await mkdtemp(join(tmpdir(), 'mailbeacon-redis-cluster-'));
    const nodes: OwnRedis[] = [];
    const cluster = new OwnRedisCluster(nodes, dir);
    try {
      // A client port and a cluster bus port each (the bus would otherwise be port + 10000).
      const ports = await freePorts(masters * 2);
      for (let i = 0; i < masters; i++) {
        const [port, busPort] = [ports[2 * i], ports[2 * i + 1]];
        const args = ['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-port', String(busPort)];
        nodes.push(await OwnRedis.start(dir, { port, args }));
      }
      await run('redis-cli', ['--cluster', 'create', ...cluster.addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
      await cluster.untilHealthy();
      return cluster;
    } catch (error) {
      await cluster.stop();
      throw error;
    }
  }

  /** `127.0.0.1:port` of each node. */
  get addresses(): string[] {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`);
  }

  /** `redis-cluster://127.0.0.1:p1,127.0.0.1:p2,…`: every node as a seed. */
  get url(): string {
    return `redis-cluster://${this.addresses.join(',')}`;
  }

  /** Resolves once every node says `cluster_state:ok` (all slots served). */
  async untilHealthy(timeoutMs = 20_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (const node of this.nodes) {
      const redis = new Redis(node.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        let info = '';
        while (!/^cluster_state:ok\b/m.test(info)) {
          if (Date.now() > end) throw new Error(`the cluster is not ok after ${timeoutMs} ms (node ${node.port}):\n${info}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
          info = await redis.cluster('INFO');
        }
      } finally {
        redis.disconnect();
      }
    }
  }

  /** Stops every node and removes their directory. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((node) => node.stop()));
    await rm(this.dir, { recursive: true, force: true });
  }
}
