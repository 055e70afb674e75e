import { checkEvictionPolicy } from '@mailbeacon/service';
import { capturingLogger, freePort, OwnRedisCluster } from '@mailbeacon/testing';
import { Cluster, Redis } from 'ioredis';
import { clusterOptionsFor, connectRedis, isClusterUrl } from '../src';

/* Which connection REDIS_URL opens, with which options; then a real 3-master cluster. */

describe('connectRedis: the URL decides', () => {
  const connections: Array<Redis | Cluster> = [];
  afterAll(() => connections.forEach((connection) => connection.disconnect()));
  const open = (url: string) => {
    const connection = connectRedis(url, { lazyConnect: true });
    connections.push(connection);
    return connection;
  };

  test('redis:// and rediss:// open one server, as ioredis reads the URL', () => {
    const redis = open('redis://:pw@cache.internal:6380/2');
    expect(redis).toBeInstanceOf(Redis);
    expect(redis.isCluster).toBe(false);
    expect((redis as Redis).options).toMatchObject({ host: 'cache.internal', port: 6380, password: 'pw', db: 2, lazyConnect: true });
    expect((open('rediss://cache.internal') as Redis).options.tls).toBeDefined();
  });

  test('redis-cluster:// and rediss-cluster:// open a Cluster on the seeds', () => {
    const cluster = open('redis-cluster://10.0.0.1:7000,10.0.0.2:7001');
    expect(cluster).toBeInstanceOf(Cluster);
    expect(cluster.isCluster).toBe(true);
    expect((cluster as Cluster).options.lazyConnect).toBe(true);
    expect(open('REDISS-CLUSTER://h1:7000')).toBeInstanceOf(Cluster);
  });

  test('isClusterUrl', () => {
    expect(isClusterUrl('redis-cluster://h:1')).toBe(true);
    expect(isClusterUrl(' rediss-cluster://h:1')).toBe(true);
    expect(isClusterUrl('redis://h:1')).toBe(false);
    expect(isClusterUrl('rediss://h:1')).toBe(false);
    expect(isClusterUrl('not a url')).toBe(false);
  });

  test('seeds, credentials and TLS from the URL; each option where ioredis reads it', () => {
    const retry = (attempt: number) => attempt * 100;
    const { seeds, options } = clusterOptionsFor('rediss-cluster://mailbeacon:p%40ss%3Aword@redis-a.internal:7000,10.0.0.2,[::1]:7002/', {
      maxRetriesPerRequest: null,
      lazyConnect: true,
      enableOfflineQueue: false,
      retryStrategy: retry,
      connectTimeout: 1500,
    });
    expect(seeds).toEqual([
      { host: 'redis-a.internal', port: 7000 },
      { host: '10.0.0.2', port: 6379 },
      { host: '::1', port: 7002 },
    ]);
    // The cluster's own: when to connect, whether to queue while not ready, how to reconnect.
    expect(options).toMatchObject({ lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: retry });
    // Each node's: BullMQ reads maxRetriesPerRequest there; nodes never reconnect on their own.
    expect(options.redisOptions).toEqual({ maxRetriesPerRequest: null, connectTimeout: 1500, username: 'mailbeacon', password: 'p@ss:word', tls: {} });
  });

  test('no credentials, no TLS: nothing is added; a password alone is the default user\'s', () => {
    expect(clusterOptionsFor('redis-cluster://h1:7000').options).toEqual({ redisOptions: {} });
    expect(clusterOptionsFor('redis-cluster://:secret@h1:7000').options.redisOptions).toEqual({ password: 'secret' });
    expect(clusterOptionsFor('rediss-cluster://h1:7000', { tls: { servername: 'redis.example' } }).options.redisOptions).toEqual({ tls: { servername: 'redis.example' } });
  });

  test.each([
    ['redis-cluster://', /no seed node/],
    ['redis-cluster://h1:7000,', /seed "": expected host:port/],
    ['redis-cluster://h1:port', /seed "h1:port": the port must be 1 to 65535/],
    ['redis-cluster://h1:70000', /the port must be 1 to 65535/],
    ['redis-cluster://h_1:7000', /seed "h_1:7000"/],
    ['redis-cluster://::1:7000', /expected host:port/],
    ['redis-cluster://h1:7000/3', /only database 0/],
    ['redis-cluster://h1:7000?tls=true', /options after the seed list/],
    ['redis-cluster://u:%zz@h1:7000', /password is not correctly percent-encoded/],
  ])('%s is refused: %s', (url, message) => {
    expect(() => connectRedis(url)).toThrow(RangeError);
    expect(() => connectRedis(url)).toThrow(message);
  });
});

describe('connectRedis on a real Redis Cluster (3 masters of the test\'s own)', () => {
  let cluster: OwnRedisCluster;

  beforeAll(async () => {
    cluster = await OwnRedisCluster.start();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  test('ready like a single server; keys of every slot reachable; a hash tag keeps keys together', async () => {
    const redis = connectRedis(cluster.url, { maxRetriesPerRequest: null });
    try {
      await new Promise((resolve, reject) => redis.once('ready', resolve).once('error', reject));
      expect(redis.status).toBe('ready');
      expect((redis as Cluster).nodes('master')).toHaveLength(3);
      const keys = Array.from({ length: 30 }, (_, i) => `mbtest-key-${i}`);
      for (const key of keys) await redis.set(key, key);
      expect(await Promise.all(keys.map((key) => redis.get(key)))).toEqual(keys);
      // Spread over the masters: no single node has them all.
      const held = await Promise.all((redis as Cluster).nodes('master').map((node) => node.dbsize()));
      expect(held.filter((count) => count > 0).length).toBeGreaterThan(1);
      // Keys sharing a hash tag may be used together (as BullMQ's scripts do); others may not.
      await expect(redis.mset('{mb}:a', '1', '{mb}:b', '2')).resolves.toBe('OK');
      await expect(redis.mset('mbtest-key-0', '1', 'mbtest-key-1', '2')).rejects.toThrow(/CROSSSLOT/);
    } finally {
      await redis.quit();
    }
  });

  test('the eviction check asks every master and names the one at fault', async () => {
    const redis = connectRedis(cluster.url, { lazyConnect: true });
    try {
      await redis.connect();
      let log = capturingLogger('debug');
      const fine = await checkEvictionPolicy(redis, log.logger);
      expect(fine).toMatchObject({ policy: 'noeviction', source: 'config', ok: true });
      expect(fine.nodes?.map((node) => node.node).sort()).toEqual([...cluster.addresses].sort());
      expect(log.records.filter((record) => record.level === 40)).toEqual([]);

      const [, second] = cluster.nodes;
      const admin = new Redis(second.port, '127.0.0.1');
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      admin.disconnect();
      log = capturingLogger('debug');
      expect(await checkEvictionPolicy(redis, log.logger)).toMatchObject({ policy: 'allkeys-lru', ok: false });
      const warnings = log.records.filter((record) => record.level === 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ maxmemoryPolicy: 'allkeys-lru', nodes: [`127.0.0.1:${second.port}`] });
    } finally {
      redis.disconnect();
    }
  });

  test('fail-fast options: an unreachable cluster fails connect() at once, without retrying', async () => {
    const dead = `redis-cluster://127.0.0.1:${await freePort()}`;
    const redis = connectRedis(dead, { lazyConnect: true, enableOfflineQueue: false, retryStrategy: () => null, connectTimeout: 1000, disconnectTimeout: 200 });
    redis.on('error', () => {});
    const started = Date.now();
    await expect(redis.connect()).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(3000);
    expect(redis.status).toBe('end');
  });
});
