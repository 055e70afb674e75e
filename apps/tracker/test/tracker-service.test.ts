import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { QUEUE_NAMES, parseTrackingEvent, type TrackingEvent } from '@mailbeacon/contracts';
import { keyRing, MAX_TRACKING_URL_LENGTH, signLink, signPixel } from '@mailbeacon/links';
import { OwnRedis, TEST_REDIS_URL, freePort, uniquePrefix } from '@mailbeacon/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadTrackerConfig } from '../src/config';
import { startTracker, TRACKER_MAX_HEADER_BYTES, type RunningTracker } from '../src/tracker';

/* The tracker wired to real Redis: events land on the queue, survive Redis going away, and drain on SIGTERM. */

const SECRET = 'tracker-service-test-secret-0123';
const keys = keyRing(SECRET);
const host = { host: 'click.shop.example' };
const TOKEN = 'AAAAAAAAAAAAAAAAAAAAAA';
const TRACK = { 'X-Postal-Track-Host': '1' };
const silent = pino({ level: 'silent' });

const clickPath = (i: number) => new URL(signLink(keys, host, { server: 'srv', messageToken: TOKEN, linkIndex: i % 5, url: `https://shop.example/p/${i}?a=1&b=2` })).pathname;

async function eventsIn(redisUrl: string, prefix: string): Promise<TrackingEvent[]> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAMES.trackingEvents, { connection, prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'active', 'completed', 'delayed', 'failed'], 0, -1, true);
    return jobs.map((job) => parseTrackingEvent(job.data));
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

async function until(condition: () => Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the tracker with real Redis', () => {
  const spoolDirs: string[] = [];
  const spoolDir = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'mb-spool-'));
    spoolDirs.push(dir);
    return dir;
  };
  afterAll(() => spoolDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  test('one event per request on tracking-events, with the event id as job id', async () => {
    const prefix = uniquePrefix();
    const config = loadTrackerConfig({ TRACKER_PORT: String(await freePort()), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix.prefix, SPOOL_DIR: spoolDir(), MAILBEACON_SECRET: SECRET, IP_STORAGE: 'full' });
    const tracker = await startTracker(config, silent);
    try {
      const click = await fetch(tracker.url + clickPath(7), { headers: { ...TRACK, 'User-Agent': 'Test/1.0' }, redirect: 'manual' });
      expect(click.status).toBe(302);
      expect(click.headers.get('location')).toBe('https://shop.example/p/7?a=1&b=2');
      const pixel = await fetch(tracker.url + new URL(signPixel(keys, host, { server: 'srv', messageToken: TOKEN })).pathname, { headers: TRACK });
      expect(pixel.status).toBe(200);
      expect(Buffer.from(await pixel.arrayBuffer())).toHaveLength(43);
      const head = await fetch(tracker.url + clickPath(8), { method: 'HEAD', headers: TRACK, redirect: 'manual' });
      expect(head.status).toBe(302);

      const events = await eventsIn(TEST_REDIS_URL, prefix.prefix);
      expect(events).toHaveLength(3);
      const byType = (type: string, method = 'GET') => events.filter((e) => e.type === type && 'method' in e && e.method === method);
      expect(byType('click')).toEqual([expect.objectContaining({ type: 'click', server: 'srv', messageToken: TOKEN, linkIndex: 2, url: 'https://shop.example/p/7?a=1&b=2', userAgent: 'Test/1.0', ip: '127.0.0.1' })]);
      expect(byType('open')).toHaveLength(1);
      expect(byType('click', 'HEAD')).toEqual([expect.objectContaining({ linkIndex: 3 })]);
    } finally {
      await tracker.close();
      await prefix.cleanup();
    }
  });

  test('the longest tracking URL is answered even with a long Referer and cookies; only a head over TRACKER_MAX_HEADER_BYTES is 431 (issue 10)', async () => {
    const prefix = uniquePrefix();
    const config = loadTrackerConfig({ TRACKER_PORT: String(await freePort()), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix.prefix, SPOOL_DIR: spoolDir(), MAILBEACON_SECRET: SECRET });
    const tracker = await startTracker(config, silent);
    try {
      const sign = (url: string) => signLink(keys, host, { server: 'srv', messageToken: TOKEN, linkIndex: 0, url });
      const base = 'https://shop.example/landing?ref=';
      // Each 3 bytes of destination are 4 characters of base64url (+1 for a partial group).
      const destination = base + 'a'.repeat(Math.floor(((MAX_TRACKING_URL_LENGTH - sign(base).length - 1) * 3) / 4));
      const longest = sign(destination);
      expect(longest.length).toBeGreaterThan(MAX_TRACKING_URL_LENGTH - 8);
      const browserHeaders = { ...TRACK, 'User-Agent': 'Mozilla/5.0 Test', Referer: `https://webmail.example/${'r'.repeat(6000)}`, Cookie: `session=${'c'.repeat(6000)}` };
      const click = await fetch(tracker.url + new URL(longest).pathname, { headers: browserHeaders, redirect: 'manual' });
      expect(click.status).toBe(302);
      expect(click.headers.get('location')).toBe(destination);

      const huge = await fetch(tracker.url + new URL(longest).pathname, { headers: { ...TRACK, Cookie: `c=${'c'.repeat(TRACKER_MAX_HEADER_BYTES)}` }, redirect: 'manual' });
      expect(huge.status).toBe(431);
    } finally {
      await tracker.close();
      await prefix.cleanup();
    }
  });

  test('Redis going away: clicks keep redirecting fast, events are spooled, then arrive once, in order', async () => {
    const redisDir = spoolDir();
    const redis = await OwnRedis.start(redisDir);
    const config = loadTrackerConfig({ TRACKER_PORT: String(await freePort()), REDIS_URL: redis.url, QUEUE_PREFIX: 'mb', SPOOL_DIR: spoolDir(), MAILBEACON_SECRET: SECRET });
    const tracker: RunningTracker = await startTracker(config, silent);
    try {
      for (let i = 0; i < 5; i++) expect((await fetch(tracker.url + clickPath(i), { headers: TRACK, redirect: 'manual' })).status).toBe(302);
      await redis.stop();
      for (let i = 5; i < 25; i++) {
        const started = Date.now();
        const res = await fetch(tracker.url + clickPath(i), { headers: TRACK, redirect: 'manual' });
        expect(res.status).toBe(302);
        expect(res.headers.get('location')).toBe(`https://shop.example/p/${i}?a=1&b=2`);
        expect(Date.now() - started).toBeLessThan(1500);
      }
      expect(tracker.publisher.stats().spoolEvents).toBeGreaterThan(0);
      await redis.start();
      // Redis lost its data: only the 20 spooled events can come back, each once, in order.
      await until(async () => tracker.publisher.stats().spoolEvents === 0 && (await eventsIn(redis.url, 'mb')).length >= 20, 15000, 'the spool to drain');
      const events = await eventsIn(redis.url, 'mb');
      const urls = events.map((e) => (e.type === 'click' ? e.url : '')).sort((a, b) => Number(a.split('/')[4].split('?')[0]) - Number(b.split('/')[4].split('?')[0]));
      expect(urls).toEqual(Array.from({ length: 20 }, (_, k) => `https://shop.example/p/${k + 5}?a=1&b=2`));
      expect(new Set(events.map((e) => e.id)).size).toBe(20);
    } finally {
      await tracker.close();
      await redis.stop();
    }
  }, 30000);

  test('SIGTERM: requests in flight are answered and their events stored before the process exits 0', async () => {
    const prefix = uniquePrefix();
    const port = await freePort();
    const child = spawn(process.execPath, [path.resolve(__dirname, '..', 'dist', 'main.js')], {
      env: { PATH: process.env.PATH, TRACKER_PORT: String(port), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix.prefix, SPOOL_DIR: spoolDir(), MAILBEACON_SECRET: SECRET, LOG_LEVEL: 'warn' },
      stdio: 'ignore',
    });
    try {
      await until(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined))?.status === 200, 10000, 'the tracker');
      const requests = Array.from({ length: 200 }, (_, i) => fetch(`http://127.0.0.1:${port}${clickPath(i)}`, { headers: TRACK, redirect: 'manual' }).then((r) => r.status, () => 0));
      await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGTERM');
      const statuses = await Promise.all(requests);
      const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
      expect(code).toBe(0);
      const answered = statuses.filter((s) => s === 302).length;
      expect(answered).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 302 || s === 0)).toBe(true);
      expect(await eventsIn(TEST_REDIS_URL, prefix.prefix)).toHaveLength(answered);
    } finally {
      child.kill('SIGKILL');
      await prefix.cleanup();
    }
  }, 30000);
});
