import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { MailbeaconClient } from '@mailbeacon/client';
import { jobIdForMessage, parseOutboundReadyJob, QUEUE_NAMES, type OutboundReadyJob } from '@mailbeacon/contracts';
import { openDatabase, ServerRepository, TrackingDomainRepository, type Database, type Kysely } from '@mailbeacon/db';
import { connectRedis } from '@mailbeacon/redis-connection';
import { Queue } from 'bullmq';
import { sql } from 'kysely';

/*
 * `npm run demo`: one corpus message through the running pipeline, as a platform and a
 * recipient would use it: enqueue → rewritten (its tracked links printed) and taken off
 * outbound-ready → the pixel loaded and a link clicked through the tracker → the statistics
 * rows that changed.
 */

export const DEMO_SERVER_NAME = 'Demo';
export const DEMO_TRACKING_DOMAIN = 'click.demo.mailbeacon.test';
const DEMO_SENDER = 'news@demo.mailbeacon.test';
const DEMO_TAG = 'demo';
const DEMO_CORPUS_FILE = 'extracted-sendblaster-newsletter-utm.html';
/** A person reads before clicking: a click sooner after the send time counts as a link scanner's. */
const READING_MS = 2500;
const BROWSER = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15';
const FALLBACK_HTML = `<!doctype html><html><body><h1>The demo newsletter</h1>
<p>Our <a href="https://shop.example.com/spring?utm_source=mail&amp;utm_medium=demo">spring collection</a> is here.</p>
<p><a href="https://blog.example.com/posts/42">Read the story</a> · <a href="https://example.com/unsubscribe?u=123">Unsubscribe</a></p>
</body></html>`;

export interface DemoOptions {
  redisUrl: string;
  databaseUrl: string;
  queuePrefix: string;
  /** The tracker as the proxy reaches it. */
  trackerUrl: string;
  trackHostHeader: string;
  corpusDir: string;
  print(line: string): void;
  /** How long to wait for each step (default 20 s). */
  timeoutMs?: number;
}

export class DemoError extends Error {
  override readonly name = 'DemoError';
}

export interface TrackedLink {
  index: number;
  destination: string;
  url: string;
}

/** The tracking URLs in a rewritten single-part message, with the destination each carries. */
export function trackedLinksIn(raw: Buffer, host: string): { links: TrackedLink[]; pixel: string | undefined } {
  const split = raw.indexOf('\r\n\r\n');
  const html = Buffer.from(raw.subarray(split + 4).toString('latin1'), 'base64').toString('utf8');
  const pattern = new RegExp(`https?://${host.replaceAll('.', '\\.')}/[co]/[A-Za-z0-9_\\-/]+`, 'g');
  const links = new Map<number, TrackedLink>();
  let pixel: string | undefined;
  for (const [url] of html.matchAll(pattern)) {
    const parts = new URL(url).pathname.split('/');
    if (parts[1] === 'o') pixel ??= url;
    else links.set(Number(parts[5]), { index: Number(parts[5]), destination: Buffer.from(parts[6], 'base64url').toString('utf8'), url });
  }
  return { links: [...links.values()].sort((a, b) => a.index - b.index), pixel };
}

export interface HtmlMessageHeaders {
  from: string;
  to: string;
  subject: string;
  messageId: string;
}

/** An HTML page as a single-part text/html message (base64), as a newsletter tool sends it. */
export function htmlMessage(html: Buffer, headers: HtmlMessageHeaders): Buffer {
  const body = html.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      `From: ${headers.from}`,
      `To: ${headers.to}`,
      `Subject: ${headers.subject}`,
      `Date: ${new Date().toUTCString()}`,
      `Message-ID: ${headers.messageId}`,
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}

/**
 * The platform's part: takes the demo's own message off outbound-ready (only that job, by its
 * id), so no consumer a platform starts later sends it for real. A message a consumer holds
 * already is its own business: left alone.
 */
async function takeReadyMessage(ready: Queue, messageId: string): Promise<OutboundReadyJob | undefined> {
  const job = await ready.getJob(jobIdForMessage(messageId));
  if (!job) return undefined;
  const message = parseOutboundReadyJob(job.data);
  if (await job.isCompleted()) return message; // sent already
  await job.remove().catch((error: unknown) => {
    if (!/locked/i.test((error as Error).message)) throw error;
  });
  return message;
}

async function until<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new DemoError(`gave up waiting for ${what} after ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

type Row = Record<string, unknown>;

async function hourlyRows(db: Kysely<Database>, server: string): Promise<Map<string, Row>> {
  const rows = await db.selectFrom('hourly_stats').selectAll().where('server', '=', server).where('tag', '=', DEMO_TAG).execute();
  return new Map(rows.map((row) => [row.hour.toISOString(), row as unknown as Row]));
}

const COUNTERS = ['messages', 'opens', 'unique_opens', 'clicks', 'unique_clicks', 'human_opens', 'human_unique_opens', 'human_clicks', 'human_unique_clicks'];

export async function runDemo(options: DemoOptions): Promise<void> {
  const { print } = options;
  const timeoutMs = options.timeoutMs ?? 20_000;

  const health = await fetch(new URL('/healthz', options.trackerUrl)).catch(() => undefined);
  if (!health?.ok) throw new DemoError(`the tracker does not answer at ${options.trackerUrl}: start the pipeline first (npm start, in another terminal)`);

  const db = await openDatabase(options.databaseUrl, { maxConnections: 2 });
  const redis = connectRedis(options.redisUrl, { maxRetriesPerRequest: null });
  const client = new MailbeaconClient({ connection: redis, prefix: options.queuePrefix });
  const ready = new Queue(QUEUE_NAMES.outboundReady, { connection: redis, prefix: options.queuePrefix });
  try {
    // 1. A server and a tracking domain for the demo (made once, reused afterwards).
    const servers = new ServerRepository(db);
    const domains = new TrackingDomainRepository(db);
    const server = (await servers.list()).find((s) => s.name === DEMO_SERVER_NAME) ?? (await servers.create(DEMO_SERVER_NAME));
    if (!(await domains.findByHost(DEMO_TRACKING_DOMAIN))) {
      await domains.add({ host: DEMO_TRACKING_DOMAIN, server: server.token, ssl: false });
      print(`created server "${DEMO_SERVER_NAME}" (${server.token}) with tracking domain ${DEMO_TRACKING_DOMAIN}`);
    }

    // 2. A corpus message, enqueued as a platform would.
    const corpusFile = path.join(options.corpusDir, 'html', DEMO_CORPUS_FILE);
    const fromCorpus = existsSync(corpusFile);
    const html = fromCorpus ? readFileSync(corpusFile) : Buffer.from(FALLBACK_HTML);
    print(fromCorpus ? `message: ${path.relative(process.cwd(), corpusFile)} from the corpus` : `message: a small built-in newsletter (no corpus at ${options.corpusDir})`);

    // The rewriter hears of a tracking domain the moment it is added (LISTEN/NOTIFY): the very
    // first message is tracked, even right after the domain was created above.
    const messageId = `<demo-${Date.now()}@demo.mailbeacon.test>`;
    await client.enqueueMessage({ messageId, server: server.token, raw: htmlMessage(html, { from: `Demo Newsletter <${DEMO_SENDER}>`, to: 'reader@example.org', subject: 'The mailbeacon demo', messageId }), recipient: 'reader@example.org', tag: DEMO_TAG });
    print(`enqueued ${messageId} on ${QUEUE_NAMES.outboundMessages}`);
    const result = await until('the rewriter (is the pipeline running?)', timeoutMs, () => takeReadyMessage(ready, messageId));
    print(`took it off ${QUEUE_NAMES.outboundReady} (where a platform's consumer would send it)`);
    if (!result.tracked) throw new DemoError(`the message came back untracked: ${result.skipped}`);

    const { links, pixel } = trackedLinksIn(Buffer.from(result.raw, 'base64'), DEMO_TRACKING_DOMAIN);
    print(`rewritten: ${result.tracked.links} tracked links, pixel ${result.tracked.pixel ? 'added' : 'not added'} (message token ${result.messageToken})`);
    // Whole URLs, so that one can be copied into a browser, curl or `mailbeacon resolve`.
    for (const link of links.slice(0, 8)) print(`  [${link.index}] ${link.url}\n       → ${link.destination}`);
    if (links.length > 8) print(`  … and ${links.length - 8} more`);
    if (pixel) print(`  pixel ${pixel}`);
    if (!pixel || links.length === 0) throw new DemoError('the rewritten message has no pixel or no tracked link');

    const hourlyBefore = await hourlyRows(db, server.token);

    // 3. The recipient opens the message and clicks, through the tracker (as the proxy passes it on).
    const readFrom = Date.now();
    print(`reading the message for ${READING_MS / 1000} s (a click within 2 s of sending counts as a link scanner's)…`);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, READING_MS - (Date.now() - readFrom))));
    const headers = { [options.trackHostHeader]: '1', 'User-Agent': BROWSER };
    const toTracker = (url: string) => new URL(new URL(url).pathname, options.trackerUrl);
    const open = await fetch(toTracker(pixel), { headers });
    print(`opened the pixel: ${open.status} ${open.headers.get('content-type')} (${(await open.arrayBuffer()).byteLength} bytes)`);
    const link = links[0];
    const click = await fetch(toTracker(link.url), { headers, redirect: 'manual' });
    print(`clicked link ${link.index}: ${click.status} → ${click.headers.get('location')}`);

    // 4. The rows the aggregator changed.
    const message = await until('the aggregator to count the open and the click', timeoutMs, async () => {
      const row = await db.selectFrom('messages').selectAll().where('token', '=', result.messageToken).executeTakeFirst();
      return row && row.opens >= 1 && row.clicks >= 1 ? row : undefined;
    });
    print('messages:');
    for (const key of ['platform_message_id', 'tag', 'tracking_domain', 'link_count', 'sent_at', 'opens', 'human_opens', 'clicks', 'human_clicks', 'first_opened_at', 'first_clicked_at'] as const) {
      const value = message[key];
      print(`  ${key.padEnd(20)} ${value instanceof Date ? value.toISOString() : String(value)}`);
    }
    const linkRows = await db.selectFrom('link_stats').selectAll().where('message_token', '=', result.messageToken).execute();
    print('link_stats:');
    for (const row of linkRows) print(`  link ${row.link_index}: clicks ${row.clicks}, human ${row.human_clicks}  ${row.url}`);
    const hourlyAfter = await hourlyRows(db, server.token);
    print(`hourly_stats (server ${server.token}, tag ${DEMO_TAG}):`);
    for (const [hour, after] of hourlyAfter) {
      const before = hourlyBefore.get(hour);
      const changes = COUNTERS.filter((key) => String(before?.[key] ?? 0) !== String(after[key])).map((key) => `${key} ${before?.[key] ?? 0} → ${after[key]}`);
      if (changes.length) print(`  ${hour}  ${changes.join(', ')}`);
    }
    const openRow = await sql<{ machine: boolean; machine_reason: string | null }>`select machine, machine_reason from opens where message_token = ${result.messageToken}`.execute(db);
    print(`the open was counted as ${openRow.rows[0]?.machine ? `a machine's (${openRow.rows[0].machine_reason})` : 'a person\'s'}; try a bot: curl -H '${options.trackHostHeader}: 1' -A curl/8 ${toTracker(pixel)}`);
  } finally {
    await ready.close();
    await client.close();
    redis.disconnect();
    await db.destroy();
  }
}
