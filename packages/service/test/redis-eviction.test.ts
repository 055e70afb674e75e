import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { capturingLogger, OwnRedis, TEST_REDIS_URL } from '@mailbeacon/testing';
import { Redis } from 'ioredis';
import { checkEvictionPolicy, readEvictionPolicy, type RedisPolicySource } from '../src';

/*
 * Against real Redis servers: a private one (OwnRedis) whose policy the test sets, and the
 * shared one, only read. A client whose CONFIG is refused stands in for managed Redis.
 */

const warnings = (records: Record<string, unknown>[]) => records.filter((record) => record.level === 40);

describe('checkEvictionPolicy', () => {
  let dir: string;
  let own: OwnRedis;
  let client: Redis;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'mb-eviction-'));
    own = await OwnRedis.start(dir);
    client = new Redis(own.url, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    client?.disconnect();
    await own?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('allkeys-lru: one loud warning naming the policy and what to set', async () => {
    await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const log = capturingLogger('debug');
    const result = await checkEvictionPolicy(client, log.logger);
    expect(result).toEqual({ policy: 'allkeys-lru', source: 'config', ok: false });
    const warned = warnings(log.records);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ maxmemoryPolicy: 'allkeys-lru', required: 'noeviction' });
    expect(warned[0].msg).toMatch(/maxmemory-policy is allkeys-lru.*drop queued jobs.*Set maxmemory-policy noeviction/);
  });

  test('noeviction: no warning', async () => {
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    const log = capturingLogger('debug');
    expect(await checkEvictionPolicy(client, log.logger)).toEqual({ policy: 'noeviction', source: 'config', ok: true });
    expect(warnings(log.records)).toHaveLength(0);
  });

  test('CONFIG disabled (managed Redis): the policy is read from INFO memory', async () => {
    await client.config('SET', 'maxmemory-policy', 'volatile-ttl');
    const managed: RedisPolicySource = {
      config: () => Promise.reject(new Error("ERR unknown command 'CONFIG'")),
      info: (section) => client.info(section),
    };
    const log = capturingLogger('debug');
    expect(await checkEvictionPolicy(managed, log.logger)).toEqual({ policy: 'volatile-ttl', source: 'info', ok: false });
    expect(warnings(log.records)).toHaveLength(1);
    expect(warnings(log.records)[0]).toMatchObject({ maxmemoryPolicy: 'volatile-ttl', source: 'info' });
    await client.config('SET', 'maxmemory-policy', 'noeviction');
  });

  test('neither CONFIG nor INFO answers: logged at info that it could not be checked, no warning', async () => {
    const closed: RedisPolicySource = {
      config: () => Promise.reject(new Error("ERR unknown command 'CONFIG'")),
      info: () => new Promise<string>(() => {}), // never answers
    };
    const log = capturingLogger('debug');
    expect(await checkEvictionPolicy(closed, log.logger, { timeoutMs: 100 })).toEqual({ policy: undefined, source: undefined, ok: false });
    expect(warnings(log.records)).toHaveLength(0);
    const info = log.records.find((record) => record.level === 30);
    expect(info?.msg).toMatch(/could not check Redis's maxmemory-policy/);
    expect(info?.errors).toEqual([expect.stringMatching(/CONFIG GET maxmemory-policy: ERR unknown command/), 'INFO memory: no answer within 100 ms']);
  });

  test('the shared Redis is only read', async () => {
    const shared = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    try {
      const read = await readEvictionPolicy(shared);
      expect(read.source).toBe('config');
      expect(typeof read.policy).toBe('string');
    } finally {
      shared.disconnect();
    }
  });
});
