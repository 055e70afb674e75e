import { MailbeaconClient, type ReadyMessage } from '@mailbeacon/client';
import { QUEUE_NAMES, parseTrackingEvent } from '@mailbeacon/contracts';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { keyRing, verifyLink } from '@mailbeacon/links';
import { corpusMode, corpusMissingMessage, listCorpus, readCorpusFile, temporaryDatabase, uniquePrefix, TEST_REDIS_URL, type TemporaryDatabase } from '@mailbeacon/testing';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { loadRewriterConfig } from '../src/config';
import { startRewriter, type RunningRewriter } from '../src/rewriter';

const SECRET = 'rewriter-test-secret-0123456789';
const keys = keyRing(SECRET);
const silent = pino({ level: 'silent' });

function message(from: string, body: string, extraHeaders: string[] = []): Buffer {
  return Buffer.from(
    [`From: ${from}`, 'To: reader@example.net', 'Subject: Hi', 'MIME-Version: 1.0', ...extraHeaders, 'Content-Type: text/html; charset=utf-8', '', body, ''].join('\r\n'),
  );
}
const HTML = '<html><body><a href="https://shop.example/a?x=1&amp;y=2">Shop</a> <a href="https://partner.example.org/p">Partner</a></body></html>';

/** Tracking URLs in a raw message; in quoted-printable parts they may be cut by soft line breaks. */
const trackedLinks = (raw: Buffer) =>
  [...raw.toString('latin1').matchAll(/https?:\/\/[a-z.]+\/c\/(?:[A-Za-z0-9_\-/]|=\r?\n|=2D)+/g)].map((m) => {
    // A hyphen that starts a quoted-printable line is written =2D (it could read as a boundary).
    const url = m[0].replace(/=\r?\n/g, '').replace(/=2D/g, '-');
    const v = verifyLink(keys, url);
    if (!v.ok) throw new Error(`${url}: ${v.reason}`);
    return v.value.url;
  });

/** A BullMQ queue on its own connection, closed together. */
function openQueue(name: string, prefix: string) {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection, prefix });
  return { queue, close: async () => (await queue.close(), connection.disconnect()) };
}

/** Collects what arrives on outbound-ready, by platform message id. */
class ReadyCollector {
  readonly byId = new Map<string, ReadyMessage[]>();
  add = async (m: ReadyMessage) => {
    this.byId.set(m.messageId, [...(this.byId.get(m.messageId) ?? []), m]);
  };
  async one(messageId: string, ms = 10000): Promise<ReadyMessage> {
    const end = Date.now() + ms;
    while (!this.byId.has(messageId)) {
      if (Date.now() > end) throw new Error(`no ready message for ${messageId}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.byId.get(messageId)![0];
  }
}

describe('the rewriter worker (real Redis and Postgres)', () => {
  let temp: TemporaryDatabase;
  let redisPrefix: ReturnType<typeof uniquePrefix>;
  let rewriter: RunningRewriter;
  let client: MailbeaconClient;
  let ready: ReadyCollector;
  let server: string;
  let domains: TrackingDomainRepository;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    temp = await temporaryDatabase();
    redisPrefix = uniquePrefix();
    server = (await new ServerRepository(temp.db).create('Shop')).token;
    domains = new TrackingDomainRepository(temp.db);
    await domains.add({ host: 'click.shop.example', server, excludedDomains: ['example.org'] });
    env = {
      DATABASE_URL: temp.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: redisPrefix.prefix,
      MAILBEACON_SECRET: SECRET,
      DOMAIN_REFRESH_MS: '100',
      REWRITER_THREADS: '1',
      REWRITER_METRICS_PORT: '0',
    };
    rewriter = await startRewriter(loadRewriterConfig(env), silent);
    client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix: redisPrefix.prefix });
    ready = new ReadyCollector();
    await client.consumeReady(ready.add, { concurrency: 4 });
  });

  afterAll(async () => {
    await client?.close();
    await rewriter?.close();
    await redisPrefix?.cleanup();
    await temp?.drop();
  });

  test('a message comes back tracked: links resolve to their destinations, excluded domains stay, a pixel is added', async () => {
    await client.enqueueMessage({ messageId: 'm-1@example', server, raw: message('Shop <news@shop.example>', HTML), recipient: 'reader@example.net', tag: 'spring' });
    const out = await ready.one('m-1@example');
    expect(out.tracked).toEqual({ links: 1, pixel: true });
    expect(out.skipped).toBeUndefined();
    expect(trackedLinks(out.raw)).toEqual(['https://shop.example/a?x=1&y=2']);
    expect(out.raw.toString()).toContain('href="https://partner.example.org/p"');
    expect(out.raw.toString()).toMatch(/<img src="https:\/\/click\.shop\.example\/o\//);
  });

  test('the message is announced on tracking-events for the aggregator', async () => {
    await client.enqueueMessage({ messageId: 'm-event', server, raw: message('news@mail.shop.example', HTML), recipient: 'r@example.net', tag: 't1' });
    const out = await ready.one('m-event');
    const events = openQueue(QUEUE_NAMES.trackingEvents, redisPrefix.prefix);
    const jobs = await events.queue.getJobs(['waiting', 'active', 'completed', 'delayed']);
    const event = jobs.map((j) => parseTrackingEvent(j.data)).find((e) => e.type === 'message' && e.platformMessageId === 'm-event');
    expect(event).toMatchObject({ type: 'message', messageToken: out.messageToken, server, recipient: 'r@example.net', tag: 't1', trackingDomain: 'click.shop.example', links: [{ index: 0, url: 'https://shop.example/a?x=1&y=2' }], pixel: true });
    await events.close();
  });

  test('untracked: X-AMP: skip, no tracking domain for the sender, an unknown server', async () => {
    await client.enqueueMessage({ messageId: 'm-amp', server, raw: message('news@shop.example', HTML, ['X-AMP: skip']) });
    await client.enqueueMessage({ messageId: 'm-foreign', server, raw: message('news@elsewhere.example', HTML) });
    await client.enqueueMessage({ messageId: 'm-noserver', server: 'unknown-server', raw: message('news@shop.example', HTML) });
    const amp = await ready.one('m-amp');
    expect(amp.tracked).toBeNull();
    expect(amp.skipped).toMatch(/^x-amp-skip/);
    expect(amp.raw.equals(message('news@shop.example', HTML))).toBe(true);
    for (const [id, code] of [['m-foreign', 'no-tracking-domain'], ['m-noserver', 'unknown-server']]) {
      const out = await ready.one(id);
      expect(out.tracked).toBeNull();
      expect(out.skipped).toMatch(new RegExp(`^${code}: `));
    }
    expect((await ready.one('m-foreign')).raw.equals(message('news@elsewhere.example', HTML))).toBe(true);
  });

  test('a job may name its tracking domain; a foreign one leaves the message untracked', async () => {
    const other = (await new ServerRepository(temp.db).create('Other')).token;
    await domains.add({ host: 'links.other.example', server: other });
    await client.enqueueMessage({ messageId: 'm-explicit-bad', server, raw: message('news@shop.example', HTML), trackingDomain: 'links.other.example' });
    expect((await ready.one('m-explicit-bad')).skipped).toMatch(/links\.other\.example is not a tracking domain/);
  });

  test('a domain setting change is live within seconds: opens off, then clicks off', async () => {
    await domains.update('click.shop.example', { trackOpens: false });
    await new Promise((r) => setTimeout(r, 400));
    await client.enqueueMessage({ messageId: 'm-noopens', server, raw: message('news@shop.example', HTML) });
    expect((await ready.one('m-noopens')).tracked).toEqual({ links: 1, pixel: false });

    await domains.update('click.shop.example', { trackClicks: false, trackOpens: true });
    await new Promise((r) => setTimeout(r, 400));
    await client.enqueueMessage({ messageId: 'm-noclicks', server, raw: message('news@shop.example', HTML) });
    const out = await ready.one('m-noclicks');
    expect(out.tracked).toEqual({ links: 0, pixel: true });
    expect(trackedLinks(out.raw)).toEqual([]);
    await domains.update('click.shop.example', { trackClicks: true });
  });

  test('an invalid job fails at once, is not retried, and is kept for inspection', async () => {
    const { queue, close } = openQueue(QUEUE_NAMES.outboundMessages, redisPrefix.prefix);
    const eventsConnection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const events = new QueueEvents(QUEUE_NAMES.outboundMessages, { connection: eventsConnection, prefix: redisPrefix.prefix });
    await events.waitUntilReady();
    const job = await queue.add('message', { messageId: 'bad-1', server: 'a:b', raw: 'not base64!!' }, { attempts: 5, jobId: 'bad-1' });
    await expect(job.waitUntilFinished(events, 10000)).rejects.toThrow(/server|raw/);
    const failed = (await queue.getJob('bad-1'))!;
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toMatch(/server: must be a server token/);
    expect(await failed.getState()).toBe('failed');
    expect(ready.byId.has('bad-1')).toBe(false);
    await events.close();
    eventsConnection.disconnect();
    await close();
  });

  test('the same platform message enqueued twice is tracked once, identically', async () => {
    const raw = message('news@shop.example', HTML);
    await client.enqueueMessage({ messageId: 'm-twice', server, raw });
    await client.enqueueMessage({ messageId: 'm-twice', server, raw });
    await ready.one('m-twice');
    await new Promise((r) => setTimeout(r, 300));
    expect(ready.byId.get('m-twice')).toHaveLength(1);
  });

  const corpusTest = corpusMode() === 'skip' ? test.skip : test;
  if (corpusMode() === 'skip') console.warn(`rewriter corpus test SKIPPED: ${corpusMissingMessage()}`);
  corpusTest('a real newsletter from the corpus comes back tracked, every link resolving to a link of the original', async () => {
    const file = listCorpus('eml').find((f) => f.name === 'phpmmp-infusionsoft-newsletter-8bit-utf8.eml');
    expect(file).toBeDefined();
    const raw = readCorpusFile(file!);
    await domains.add({ host: 'click.vitamart.ca', server });
    await new Promise((r) => setTimeout(r, 300));
    await client.enqueueMessage({ messageId: 'corpus-1', server, raw });
    const out = await ready.one('corpus-1');
    expect(out.tracked!.links).toBeGreaterThan(5);
    const destinations = trackedLinks(out.raw);
    expect(destinations.length).toBeGreaterThan(5);
    const original = raw.toString('latin1').replace(/=\r?\n/g, '').replace(/=3D/g, '=').replace(/&amp;/g, '&');
    for (const url of destinations) expect(original).toContain(url);
  });
});
