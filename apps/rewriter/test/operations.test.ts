import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MailbeaconClient, type ReadyMessage } from '@mailbeacon/client';
import { QUEUE_NAMES } from '@mailbeacon/contracts';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { capturingLogger, freePort, OwnRedis, sampleValue, temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadRewriterConfig } from '../src/config';
import { skipReason } from '../src/metrics';
import { startRewriter, type RunningRewriter } from '../src/rewriter';

/* The rewriter's operations server, metrics and log lines, on the real queues and a database of its own. */

const SECRET = 'rewriter-ops-test-secret-0123456789';
const HTML = '<html><body><a href="https://shop.example/a">Shop</a></body></html>';
const message = (from: string, extraHeaders: string[] = []) =>
  Buffer.from([`From: ${from}`, 'To: reader@example.net', 'Subject: Hi', 'MIME-Version: 1.0', ...extraHeaders, 'Content-Type: text/html; charset=utf-8', '', HTML, ''].join('\r\n'));

async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('the rewriter operations server', () => {
  let temp: TemporaryDatabase;
  let redisPrefix: ReturnType<typeof uniquePrefix>;
  let rewriter: RunningRewriter;
  let client: MailbeaconClient;
  let server: string;
  let log: ReturnType<typeof capturingLogger>;
  const ready = new Map<string, ReadyMessage>();

  beforeAll(async () => {
    temp = await temporaryDatabase();
    redisPrefix = uniquePrefix();
    server = (await new ServerRepository(temp.db).create('Shop')).token;
    await new TrackingDomainRepository(temp.db).add({ host: 'click.shop.example', server });
    log = capturingLogger('info');
    const config = loadRewriterConfig({
      DATABASE_URL: temp.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: redisPrefix.prefix,
      MAILBEACON_SECRET: SECRET,
      REWRITER_THREADS: '0',
      REWRITER_METRICS_PORT: String(await freePort()),
    });
    rewriter = await startRewriter(config, log.logger);
    client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix: redisPrefix.prefix });
    await client.consumeReady(async (m) => void ready.set(m.messageId, m), { concurrency: 4 });
  });

  afterAll(async () => {
    await client?.close();
    await rewriter?.close();
    await redisPrefix?.cleanup();
    await temp?.drop();
  });

  const get = async (route: string) => {
    const res = await fetch(`${rewriter.operations!.url}${route}`);
    return { status: res.status, text: await res.text(), contentType: res.headers.get('content-type') };
  };
  const metrics = async () => (await get('/metrics')).text;

  test('jobs, outcomes and queue depth move on /metrics; every log line about a message names it', async () => {
    const tracked = ['ops-1@x', 'ops-2@x', 'ops-3@x'];
    for (const messageId of tracked) await client.enqueueMessage({ messageId, server, raw: message('news@shop.example') });
    await client.enqueueMessage({ messageId: 'ops-amp@x', server, raw: message('news@shop.example', ['X-AMP: skip']) });
    await client.enqueueMessage({ messageId: 'ops-foreign@x', server, raw: message('news@elsewhere.example') });
    const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const outbound = new Queue(QUEUE_NAMES.outboundMessages, { connection, prefix: redisPrefix.prefix });
    await outbound.add('message', { messageId: 'ops-bad@x', server: 'a:b', raw: 'not base64!!' }, { jobId: 'ops-bad', attempts: 3 });

    const completed = (text: string) => sampleValue(text, 'mailbeacon_rewriter_jobs_total', { outcome: 'completed' });
    const text = await waitFor(
      metrics,
      (t) => completed(t) === 5 && sampleValue(t, 'mailbeacon_rewriter_jobs_total', { outcome: 'failed' }) === 1 && sampleValue(t, 'mailbeacon_rewriter_queue_jobs', { state: 'active' }) === 0,
      20_000,
      'the jobs to be counted',
    );
    expect(sampleValue(text, 'mailbeacon_rewriter_messages_total', { outcome: 'tracked', reason: 'none' })).toBe(3);
    expect(sampleValue(text, 'mailbeacon_rewriter_messages_total', { outcome: 'skipped', reason: 'x-amp-skip' })).toBe(1);
    expect(sampleValue(text, 'mailbeacon_rewriter_messages_total', { outcome: 'skipped', reason: 'no-tracking-domain' })).toBe(1);
    expect(sampleValue(text, 'mailbeacon_rewriter_messages_total', { outcome: 'skipped', reason: 'dkim-signed' })).toBe(0);
    expect(sampleValue(text, 'mailbeacon_rewriter_job_duration_seconds_count', { outcome: 'completed' })).toBe(5);
    expect(sampleValue(text, 'mailbeacon_rewriter_job_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    const depth = { queue: QUEUE_NAMES.outboundMessages };
    expect(sampleValue(text, 'mailbeacon_rewriter_queue_jobs', { ...depth, state: 'waiting' })).toBe(0);
    expect(sampleValue(text, 'mailbeacon_rewriter_queue_jobs', { ...depth, state: 'active' })).toBe(0);
    expect(sampleValue(text, 'mailbeacon_rewriter_queue_jobs', { ...depth, state: 'delayed' })).toBe(0);
    expect(sampleValue(text, 'mailbeacon_rewriter_queue_jobs', { ...depth, state: 'failed' })).toBe(1);
    expect(sampleValue(text, 'mailbeacon_rewriter_redis_connected')).toBe(1);
    expect(sampleValue(text, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    // No message id, token or server ever becomes a label.
    expect(text).not.toMatch(/ops-1@x|ops-bad|click\.shop\.example/);
    expect(text).not.toContain(server);

    await waitFor(async () => ready.size, (size) => size === 5, 10_000, 'the ready messages');
    const lines = (msg: string) => log.records.filter((record) => record.msg === msg);
    expect(lines('message tracked')).toHaveLength(3);
    for (const record of [...lines('message tracked'), ...lines('message left untracked')]) {
      const id = record.messageId as string;
      expect(ready.get(id)).toBeDefined();
      expect(record).toMatchObject({ messageId: id, messageToken: ready.get(id)!.messageToken, server });
    }
    expect(lines('message left untracked').map((record) => record.messageId).sort()).toEqual(['ops-amp@x', 'ops-foreign@x']);
    // An invalid job has no message token (its server is no server), but its message id is named.
    const failed = lines('rewrite job failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ messageId: 'ops-bad@x', jobId: 'ops-bad' });
    expect(failed[0].messageToken).toBeUndefined();
    await outbound.close();
    connection.disconnect();
  });

  test('a message with many links too long to track logs one warning naming them, not one per link (review of issue 10)', async () => {
    const long = (i: number) => `https://shop.example/landing?ref=${i}${'a'.repeat(9000)}`;
    const html = `<html><body>${[0, 1, 2, 1].map((i) => `<a href="${long(i)}">x</a>`).join('')}<a href="https://shop.example/a">Shop</a></body></html>`;
    const raw = Buffer.from(['From: news@shop.example', 'To: reader@example.net', 'Subject: Long', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', html, ''].join('\r\n'));
    await client.enqueueMessage({ messageId: 'ops-long@x', server, raw });
    await waitFor(async () => ready.get('ops-long@x'), (m) => m !== undefined, 10_000, 'the ready message');
    expect(ready.get('ops-long@x')!.tracked).toEqual({ links: 1, pixel: true });
    // The job logs its outcome and its notes together, once its outputs are queued.
    const ofMessage = async () => log.records.filter((record) => record.messageId === 'ops-long@x');
    await waitFor(ofMessage, (records) => records.some((r) => r.msg === 'message tracked') && records.some((r) => r.level === 40), 10_000, 'the outcome lines');
    const warnings = (await ofMessage()).filter((record) => record.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({
        msg: 'parts left untouched or links left untracked',
        notes: [expect.stringMatching(/^part 1 \(text\/html\): 3 links left untracked: tracking URL or redirect over 8000 characters /)],
      }),
    ]);
  });

  test('/healthz and /readyz answer 200; unknown paths 404', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    expect(await get('/readyz')).toMatchObject({ status: 200, text: 'ready\n' });
    expect((await get('/metrics')).contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect((await get('/nope')).status).toBe(404);
  });

  test('skip codes map to a fixed set of labels', () => {
    expect(skipReason('x-amp-skip: X-AMP: skip header')).toBe('x-amp-skip');
    expect(skipReason('no-tracking-domain: no tracking domain for example.com')).toBe('no-tracking-domain');
    expect(skipReason('unknown-server: no server has the token x')).toBe('unknown-server');
    expect(skipReason('internal-error: boom')).toBe('internal-error');
    expect(skipReason('something-new: ?')).toBe('other');
    expect(skipReason('')).toBe('other');
  });
});

test('REWRITER_METRICS_PORT (default 8082, 0 = off) and METRICS_HOST (default loopback) are validated with the rest', () => {
  const base = { MAILBEACON_SECRET: SECRET };
  expect(loadRewriterConfig(base)).toMatchObject({ REWRITER_METRICS_PORT: 8082, METRICS_HOST: '127.0.0.1' });
  expect(loadRewriterConfig({ ...base, REWRITER_METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' })).toMatchObject({ REWRITER_METRICS_PORT: 0, METRICS_HOST: '0.0.0.0' });
  expect(() => loadRewriterConfig({ ...base, REWRITER_METRICS_PORT: '70000', METRICS_HOST: 'not a host' })).toThrow(
    /REWRITER_METRICS_PORT: must be an integer from 0 \(off\) to 65535 \(got "70000"\)\nMETRICS_HOST: must be an IP address or a host name/,
  );
});

describe("the rewriter and Redis's eviction policy (a Redis of its own)", () => {
  let dir: string;
  let own: OwnRedis;
  let temp: TemporaryDatabase;
  let bullmqWarning: jest.SpyInstance;

  beforeAll(async () => {
    // BullMQ also notices the policy, but only on the console (once per connection): kept quiet here.
    bullmqWarning = jest.spyOn(console, 'warn').mockImplementation(() => {});
    dir = mkdtempSync(path.join(tmpdir(), 'mb-rewriter-eviction-'));
    own = await OwnRedis.start(dir);
    temp = await temporaryDatabase();
  });
  afterAll(async () => {
    bullmqWarning?.mockRestore();
    await own?.stop();
    await temp?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const startWithPolicy = async (policy: string) => {
    const admin = new Redis(own.url);
    await admin.config('SET', 'maxmemory-policy', policy);
    admin.disconnect();
    const log = capturingLogger('info');
    const config = loadRewriterConfig({ DATABASE_URL: temp.url, REDIS_URL: own.url, MAILBEACON_SECRET: SECRET, REWRITER_THREADS: '0', REWRITER_METRICS_PORT: '0' });
    const running = await startRewriter(config, log.logger);
    await running.close();
    return log.records.filter((record) => record.level === 40);
  };

  test('allkeys-lru: one warning at start-up naming the policy and noeviction', async () => {
    const warnings = await startWithPolicy('allkeys-lru');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ maxmemoryPolicy: 'allkeys-lru', required: 'noeviction' });
    expect(warnings[0].msg).toMatch(/Set maxmemory-policy noeviction/);
  });

  test('noeviction: no warning', async () => {
    expect(await startWithPolicy('noeviction')).toEqual([]);
  });
});
