import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MailbeaconClient, type ReadyConsumer, type ReadyMessage } from '@mailbeacon/client';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import {
  closeServer,
  CHROMIUM,
  corpusDir,
  corpusMissingMessage,
  corpusMode,
  launchChromium,
  listenOnLoopback,
  startTrackingProxy,
  temporaryDatabase,
  TEST_REDIS_URL,
  uniquePrefix,
  type TemporaryDatabase,
  type TrackingProxy,
} from '@mailbeacon/testing';
import { sql } from 'kysely';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../src/config';
import { htmlMessage, trackedLinksIn } from '../src/demo';
import type { RunningPipeline } from '../src/pipeline';
import { startTestPipeline, untilPipeline } from './test-pipeline';

/*
 * End to end, in a real browser, over real TCP all the way:
 *
 *   MailbeaconClient → rewriter → the rewritten HTML rendered by Chromium (page.setContent, as
 *   a mail client renders a message) → the pixel and a real click on a link go to
 *   http://click.e2e.test, which Chromium resolves to the real nginx running
 *   infra/nginx/tracking-host.conf → the tracker → 302 → the original URL, which Chromium
 *   resolves to a local landing server → tracking events → aggregator → PostgreSQL tables.
 *
 * Chromium's --host-resolver-rules maps the tracking host to nginx's port and every other
 * host to the landing server's, so the browser sends the Host headers a real one would.
 */

const TRACKING_DOMAIN = 'click.e2e.test';
const CORPUS_FILE = 'extracted-sendblaster-newsletter-utm.html';
const CORPUS_LINKS = 11;
const MESSAGE_ID = '<browser-e2e-1@e2e.test>';
const TAG = 'e2e';
/** A person's browser: HeadlessChrome's own agent is (rightly) classified as a bot. */
const DESKTOP_AGENT = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';
/** A click sooner than EARLY_CLICK_MS (2 s) after the send time counts as a link scanner's. */
const READING_MS = 2500;
const TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The HTML of a single-part base64 text/html message. */
function htmlOf(raw: Buffer): string {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.subarray(0, split).toString('latin1');
  if (!/^content-transfer-encoding:\s*base64\s*$/im.test(headers)) throw new Error(`the rewritten message is no longer base64:\n${headers}`);
  return Buffer.from(raw.subarray(split + 4).toString('latin1'), 'base64').toString('utf8');
}

/** Every `href` of the original HTML, in document order, with its character references decoded (as a browser reads it). */
function originalHrefs(html: string): string[] {
  return [...html.matchAll(/<a\s[^>]*?href="([^"]*)"/gi)].map(([, href]) => href.replace(/&amp;/g, '&'));
}

interface LandingRequest {
  method: string;
  host: string;
  url: string;
}

/** The sites the links lead to: one local server that records every request and answers a small page. */
async function landingServer(): Promise<{ server: http.Server; port: number; seen: LandingRequest[] }> {
  const seen: LandingRequest[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', host: req.headers.host ?? '', url: req.url ?? '' });
    req.resume();
    if (req.url === '/favicon.ico') res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>landing</title><p>You have arrived.</p>');
  });
  return { server, port: await listenOnLoopback(server), seen };
}

/** `node packages/cli/bin/mailbeacon.js …`: exit code and everything it printed. */
function cli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'packages/cli/bin/mailbeacon.js'), ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (data: Buffer) => (output += data.toString()));
    child.stderr.on('data', (data: Buffer) => (output += data.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const mode = corpusMode();
if (mode === 'skip') console.warn(`browser end-to-end test SKIPPED: ${corpusMissingMessage()}`);

describe('end to end in a real browser: Chromium → nginx → tracker → landing page, counted once', () => {
  if (mode === 'fail') {
    test('the corpus is present (CI always has it)', () => {
      throw new Error(`the browser end-to-end test cannot run under CI: ${corpusMissingMessage()}`);
    });
    return;
  }
  if (mode === 'skip') {
    test.skip(`the browser end-to-end test (${corpusMissingMessage()})`, () => undefined);
    return;
  }

  let log: string[] = [];
  let temp: TemporaryDatabase | undefined;
  let redis: ReturnType<typeof uniquePrefix> | undefined;
  let dir: string | undefined;
  let pipeline: RunningPipeline | undefined;
  let proxy: TrackingProxy | undefined;
  let landing: Awaited<ReturnType<typeof landingServer>> | undefined;
  let client: MailbeaconClient | undefined;
  let consumer: ReadyConsumer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let server: string;
  let trackerPort: number;
  let originalBytes: Buffer;
  let originalHtml: string;

  const until = <T>(what: string, attempt: () => Promise<T | undefined>, timeoutMs?: number) => untilPipeline(what, log, attempt, timeoutMs);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`${CHROMIUM} is missing: this test drives a real Chromium. .ci/run installs it (apt-get install chromium); install it the same way to run it locally.`);
    }
    originalBytes = readFileSync(path.join(corpusDir(), 'html', CORPUS_FILE));
    originalHtml = originalBytes.toString('utf8');

    temp = await temporaryDatabase();
    redis = uniquePrefix();
    dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-browser-e2e-'));
    server = (await new ServerRepository(temp.db).create('Browser E2E')).token;
    await new TrackingDomainRepository(temp.db).add({ host: TRACKING_DOMAIN, server, ssl: false });

    const started = await startTestPipeline({ databaseUrl: temp.url, queuePrefix: redis.prefix, dir, env: { MAILBEACON_SECRET_FILE: path.join(dir, 'secret') } });
    pipeline = started.pipeline;
    trackerPort = started.trackerPort;
    log = started.log;

    proxy = await startTrackingProxy({ trackerPort });
    landing = await landingServer();

    // The tracking host → nginx, every other host → the landing server (host:port mappings).
    browser = await launchChromium([`--host-resolver-rules=MAP ${TRACKING_DOMAIN} 127.0.0.1:${proxy.port}, MAP * 127.0.0.1:${landing.port}`]);
    const context = await browser.newContext({ userAgent: DESKTOP_AGENT });
    page = await context.newPage();
  }, TIMEOUT_MS);

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await proxy?.stop();
    await consumer?.close();
    await client?.close();
    await pipeline?.stop(5000);
    if (landing) await closeServer(landing.server);
    await redis?.cleanup();
    await temp?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  let ready: ReadyMessage;
  let clicked: { index: number; destination: string; url: string };

  test(
    'the pixel loads through nginx (one open), and a real click on a link lands on its original URL, byte for byte',
    async () => {
      // The platform enqueues a corpus newsletter and takes it back rewritten.
      client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix: redis!.prefix });
      const received: ReadyMessage[] = [];
      consumer = await client.consumeReady(async (message) => void received.push(message));
      await client.enqueueMessage({ messageId: MESSAGE_ID, server, raw: htmlMessage(originalBytes, { from: 'E2E Newsletter <news@e2e.test>', to: 'reader@example.org', subject: 'The browser end-to-end newsletter', messageId: MESSAGE_ID }), recipient: 'reader@example.org', tag: TAG });
      ready = await until('the rewritten message on outbound-ready', async () => received.find((message) => message.messageId === MESSAGE_ID));
      expect(ready.skipped).toBeUndefined();
      expect(ready.tracked).toEqual({ links: CORPUS_LINKS, pixel: true });
      const { links, pixel } = trackedLinksIn(ready.raw, TRACKING_DOMAIN);
      expect(links).toHaveLength(CORPUS_LINKS);
      expect(pixel).toBeDefined();
      // Each tracked link carries its original href, in document order.
      expect(links.map((link) => link.destination)).toEqual(originalHrefs(originalHtml));

      // The mail client renders the message: the pixel is fetched through nginx.
      await page.setContent(htmlOf(ready.raw), { waitUntil: 'load' });
      const sentAt = await until('the message and its open in the tables', async () => {
        const row = await temp!.db.selectFrom('messages').select(['sent_at', 'opens']).where('token', '=', ready.messageToken).executeTakeFirst();
        return row?.sent_at && row.opens >= 1 ? row.sent_at : undefined;
      });
      const opens = await temp!.db.selectFrom('opens').selectAll().where('message_token', '=', ready.messageToken).execute();
      expect(opens).toHaveLength(1);
      expect(opens[0]).toMatchObject({ machine: false, machine_reason: null, method: 'GET', user_agent: DESKTOP_AGENT });

      // The recipient reads for a moment (an earlier click is a scanner's), then clicks a visible link.
      const anchors = page.locator(`a[href^="http://${TRACKING_DOMAIN}/c/"]`);
      expect(await anchors.count()).toBe(CORPUS_LINKS);
      const visible: number[] = [];
      for (let i = 0; i < CORPUS_LINKS; i++) if (await anchors.nth(i).isVisible()) visible.push(i);
      expect(visible.length).toBeGreaterThan(0);
      const anchor = anchors.nth(visible[Math.floor(visible.length / 2)]);
      const href = (await anchor.getAttribute('href'))!;
      clicked = links.find((link) => link.url === href)!;
      expect(clicked).toBeDefined();
      await sleep(Math.max(0, sentAt.getTime() + READING_MS - Date.now()));

      const original = new URL(clicked.destination);
      // Path and query as written in the original href (up to a fragment, which is never sent).
      const originalPathAndQuery = clicked.destination.slice(`${original.protocol}//${original.host}`.length).split('#')[0];
      expect(originalPathAndQuery).toMatch(/^\/[^?]*\?utm_source=SendBlaster&/);
      landing!.seen.length = 0;
      await Promise.all([page.waitForURL((url) => url.host === original.host, { timeout: 30_000 }), anchor.click()]);

      expect(page.url()).toBe(clicked.destination);
      // The page itself, once (its favicon aside; Chromium's own background requests go to other hosts).
      const toOriginalHost = landing!.seen.filter((request) => request.host === original.host && request.url !== '/favicon.ico');
      expect(toOriginalHost).toEqual([{ method: 'GET', host: original.host, url: originalPathAndQuery }]);
    },
    TIMEOUT_MS,
  );

  test(
    'the tables show exactly one open and one click, both a person’s',
    async () => {
      expect(clicked).toBeDefined();
      const token = ready.messageToken;
      const snapshot = async () => {
        const message = await temp!.db
          .selectFrom('messages')
          .select(['platform_message_id', 'tag', 'tracking_domain', 'link_count', 'pixel', 'opens', 'human_opens', 'clicks', 'human_clicks'])
          .where('token', '=', token)
          .executeTakeFirst();
        const linkStats = await temp!.db.selectFrom('link_stats').select(['link_index', 'url', 'clicks', 'human_clicks']).where('message_token', '=', token).execute();
        const { rows } = await sql<Record<string, string>>`
          select coalesce(sum(messages), 0) as messages, coalesce(sum(opens), 0) as opens, coalesce(sum(unique_opens), 0) as unique_opens,
                 coalesce(sum(clicks), 0) as clicks, coalesce(sum(unique_clicks), 0) as unique_clicks,
                 coalesce(sum(human_opens), 0) as human_opens, coalesce(sum(human_unique_opens), 0) as human_unique_opens,
                 coalesce(sum(human_clicks), 0) as human_clicks, coalesce(sum(human_unique_clicks), 0) as human_unique_clicks
          from hourly_stats where server = ${server}`.execute(temp!.db);
        const hourly = Object.fromEntries(Object.entries(rows[0]).map(([key, value]) => [key, Number(value)]));
        const opens = await temp!.db.selectFrom('opens').select(['machine', 'machine_reason', 'user_agent']).where('message_token', '=', token).execute();
        const clicks = await temp!.db.selectFrom('clicks').select(['machine', 'machine_reason', 'link_index', 'url', 'user_agent']).where('message_token', '=', token).execute();
        return { message, linkStats, hourly, opens, clicks };
      };

      await until('the aggregator to count the click', async () => {
        const now = await snapshot();
        return now.message && now.message.clicks >= 1 && now.clicks.length >= 1 && now.hourly.clicks >= 1 ? now : undefined;
      });
      // A moment more: nothing else may arrive (a second open or click, a reclassification).
      await sleep(1000);
      const final = await snapshot();
      expect(final.message).toEqual({
        platform_message_id: MESSAGE_ID,
        tag: TAG,
        tracking_domain: TRACKING_DOMAIN,
        link_count: CORPUS_LINKS,
        pixel: true,
        opens: 1,
        human_opens: 1,
        clicks: 1,
        human_clicks: 1,
      });
      expect(final.linkStats).toEqual([{ link_index: clicked.index, url: clicked.destination, clicks: 1, human_clicks: 1 }]);
      expect(final.hourly).toEqual({
        messages: 1,
        opens: 1,
        unique_opens: 1,
        clicks: 1,
        unique_clicks: 1,
        human_opens: 1,
        human_unique_opens: 1,
        human_clicks: 1,
        human_unique_clicks: 1,
      });
      expect(final.opens).toEqual([{ machine: false, machine_reason: null, user_agent: DESKTOP_AGENT }]);
      expect(final.clicks).toEqual([{ machine: false, machine_reason: null, link_index: clicked.index, url: clicked.destination, user_agent: DESKTOP_AGENT }]);
    },
    TIMEOUT_MS,
  );

  test(
    '`mailbeacon domains check` passes through nginx, and fails straight to the tracker (no proxy header)',
    async () => {
      const env = { PATH: process.env.PATH, DATABASE_URL: temp!.url };
      const throughNginx = await cli(['domains', 'check', TRACKING_DOMAIN, '--address', '127.0.0.1', '--port', String(proxy!.port)], env);
      expect({ code: throughNginx.code, output: throughNginx.output }).toEqual({ code: 0, output: expect.stringContaining('Hello.') });

      const straight = await cli(['domains', 'check', TRACKING_DOMAIN, '--address', '127.0.0.1', '--port', String(trackerPort)], env);
      expect(straight.code).not.toBe(0);
      expect(straight.output).toMatch(/X-Postal-Track-Host/);
      expect(straight.output).toMatch(/proxy/i);
    },
    TIMEOUT_MS,
  );
});
