import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { capturingLogger, freePort, OwnRedis } from '@mailbeacon/testing';
import { Redis } from 'ioredis';
import { loadTrackerConfig } from '../src/config';
import { startTracker } from '../src/tracker';

/* The tracker looks at Redis's maxmemory-policy at start-up, on a Redis of the test's own. */

const SECRET = 'tracker-eviction-test-secret-0123';

describe("the tracker and Redis's eviction policy", () => {
  let dir: string;
  let own: OwnRedis;
  let bullmqWarning: jest.SpyInstance;

  beforeAll(async () => {
    // BullMQ also notices the policy, but only on the console: kept quiet here.
    bullmqWarning = jest.spyOn(console, 'warn').mockImplementation(() => {});
    dir = mkdtempSync(path.join(tmpdir(), 'mb-tracker-eviction-'));
    own = await OwnRedis.start(dir);
  });
  afterAll(async () => {
    bullmqWarning?.mockRestore();
    await own?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const logsWith = async (policy: string | undefined, redisUrl = own.url) => {
    if (policy) {
      const admin = new Redis(own.url);
      await admin.config('SET', 'maxmemory-policy', policy);
      admin.disconnect();
    }
    const log = capturingLogger('debug');
    const spool = mkdtempSync(path.join(dir, 'spool-'));
    const tracker = await startTracker(loadTrackerConfig({ TRACKER_PORT: String(await freePort()), REDIS_URL: redisUrl, SPOOL_DIR: spool, MAILBEACON_SECRET: SECRET }), log.logger);
    try {
      // The check runs in the background (the tracker starts without Redis): wait for its outcome.
      const end = Date.now() + 10_000;
      while (!log.records.some((record) => /maxmemory-policy/.test(String(record.msg))) && Date.now() < end) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      await tracker.close();
    }
    return log.records.filter((record) => /maxmemory-policy/.test(String(record.msg)));
  };

  test('allkeys-lru: one warning naming the policy and noeviction', async () => {
    const records = await logsWith('allkeys-lru');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 40, maxmemoryPolicy: 'allkeys-lru', required: 'noeviction' });
  });

  test('noeviction: no warning (a debug line only)', async () => {
    const records = await logsWith('noeviction');
    expect(records).toEqual([expect.objectContaining({ level: 20, maxmemoryPolicy: 'noeviction' })]);
  });

  test('Redis unreachable at start-up: the tracker starts anyway, with one warning saying where, why, and that events are spooled', async () => {
    const port = await freePort();
    const records = await logsWith(undefined, `redis://127.0.0.1:${port}`);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ level: 40 });
    expect(records[0].msg).toMatch(new RegExp(`^cannot reach Redis at redis://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; start it .*tracking events are kept in the spool \\(Redis's maxmemory-policy, which must be noeviction, is checked at the next start\\)$`));
  });
});
