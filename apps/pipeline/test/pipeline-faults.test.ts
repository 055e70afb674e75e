import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MailbeaconClient, type ReadyConsumer } from '@mailbeacon/client';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { sql } from 'kysely';
import { trackedLinksIn } from '../src/demo';
import type { RunningPipeline } from '../src/pipeline';
import { startTestPipeline } from './test-pipeline';

/*
 * Faults, end to end: messages, opens and clicks stream through the running pipeline while
 * each worker process (rewriter, aggregator) is SIGKILLed once at a random moment and
 * restarted by the supervisor. At the end every message came out exactly once, and every
 * count equals what was sent.
 */

const MESSAGES = 120;
const DOMAIN = 'click.faults.test';
const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';

function message(i: number): Buffer {
  const html = `<html><body><p>Issue ${i}</p>${[0, 1, 2].map((n) => `<a href="https://shop.example/item/${i}/${n}?ref=mail">item ${n}</a>`).join(' ')}</body></html>`;
  return Buffer.from(
    `From: news@faults.test\r\nTo: r${i}@example.net\r\nSubject: ${i}\r\nMessage-ID: <${i}@faults.test>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(html).toString('base64')}\r\n`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the pipeline under faults', () => {
  let temp: TemporaryDatabase;
  let redis: ReturnType<typeof uniquePrefix>;
  let dir: string;
  let pipeline: RunningPipeline | undefined;

  beforeAll(async () => {
    temp = await temporaryDatabase();
    redis = uniquePrefix();
    dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-faults-'));
  });
  afterAll(async () => {
    await pipeline?.stop(5000);
    await redis.cleanup();
    await temp.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each worker SIGKILLed once mid-stream: every message out once, every count exact', async () => {
    const server = (await new ServerRepository(temp.db).create('Faults')).token;
    await new TrackingDomainRepository(temp.db).add({ host: DOMAIN, server, ssl: false });
    const started = await startTestPipeline({
      databaseUrl: temp.url,
      queuePrefix: redis.prefix,
      dir,
      // A killed worker's jobs are taken over once their lock expires: keep that short here.
      env: { LOCK_DURATION_MS: '2000', STALLED_INTERVAL_MS: '500' },
      restartDelayMs: 200,
    });
    pipeline = started.pipeline;
    const { trackerPort, log } = started;
    const tracker = `http://127.0.0.1:${trackerPort}`;

    const client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix: redis.prefix });
    const received = new Map<string, number>();
    const hits: Promise<void>[] = [];
    let opens = 0;
    let clicks = 0;
    const hit = async (url: string, kind: 'open' | 'click') => {
      const res = await fetch(new URL(new URL(url).pathname, tracker), { headers: { 'X-Postal-Track-Host': '1', 'User-Agent': BROWSER }, redirect: 'manual' });
      if (kind === 'open' && res.status === 200) opens++;
      if (kind === 'click' && res.status === 302) clicks++;
      await res.arrayBuffer();
    };
    let consumer: ReadyConsumer | undefined;
    try {
      consumer = await client.consumeReady(async (ready) => {
        received.set(ready.messageId, (received.get(ready.messageId) ?? 0) + 1);
        const { links, pixel } = trackedLinksIn(ready.raw, DOMAIN);
        if (!pixel || links.length !== 3) throw new Error(`${ready.messageId} came back ${ready.skipped ?? 'with the wrong links'}`);
        // The recipient opens it and clicks two links, a little later.
        hits.push(sleep(50).then(() => hit(pixel, 'open')).then(() => hit(links[0].url, 'click')).then(() => hit(links[2].url, 'click')));
      });

      const killAt = { rewriter: 10 + Math.floor(Math.random() * 50), aggregator: 30 + Math.floor(Math.random() * 60) };
      for (let i = 0; i < MESSAGES; i++) {
        await client.enqueueMessage({ messageId: `<${i}@faults.test>`, server, raw: message(i), tag: i % 2 ? 'odd' : 'even' });
        if (i === killAt.rewriter) pipeline.apps.get('rewriter')!.kill('SIGKILL');
        if (i === killAt.aggregator) pipeline.apps.get('aggregator')!.kill('SIGKILL');
        await sleep(15);
      }

      const deadline = Date.now() + 60_000;
      while (received.size < MESSAGES) {
        if (Date.now() > deadline) throw new Error(`only ${received.size} of ${MESSAGES} messages came out`);
        await sleep(100);
      }
      await Promise.all(hits);
      expect(opens).toBe(MESSAGES);
      expect(clicks).toBe(2 * MESSAGES);

      // The aggregator catches up (its killed batch is taken over after the lock expires).
      let totals: Record<string, number> = {};
      while (Date.now() < deadline + 30_000) {
        const { rows } = await sql<Record<string, string>>`
          select (select count(*) from messages where platform_message_id is not null) as messages,
                 (select coalesce(sum(opens), 0) from hourly_stats) as opens,
                 (select coalesce(sum(clicks), 0) from hourly_stats) as clicks,
                 (select coalesce(sum(messages), 0) from hourly_stats) as sent,
                 (select coalesce(sum(opens), 0) from messages) as message_opens,
                 (select coalesce(sum(clicks), 0) from link_stats) as link_clicks`.execute(temp.db);
        totals = Object.fromEntries(Object.entries(rows[0]).map(([key, value]) => [key, Number(value)]));
        if (totals.opens === MESSAGES && totals.clicks === 2 * MESSAGES && totals.messages === MESSAGES) break;
        await sleep(200);
      }
      // A moment more: nothing may be counted twice after the counts were reached.
      await sleep(3000);
      const { rows } = await sql<Record<string, string>>`
        select (select coalesce(sum(opens), 0) from hourly_stats) as opens, (select coalesce(sum(clicks), 0) from hourly_stats) as clicks`.execute(temp.db);
      expect({ ...totals, later: rows[0] }).toEqual({
        messages: MESSAGES,
        opens: MESSAGES,
        clicks: 2 * MESSAGES,
        sent: MESSAGES,
        message_opens: MESSAGES,
        link_clicks: 2 * MESSAGES,
        later: { opens: String(MESSAGES), clicks: String(2 * MESSAGES) },
      });
      expect([...received.values()].every((count) => count === 1)).toBe(true);
      expect(pipeline.apps.get('rewriter')!.restarts).toBe(1);
      expect(pipeline.apps.get('aggregator')!.restarts).toBe(1);
      expect(log.filter((line) => line.includes('stopped unexpectedly (SIGKILL)'))).toHaveLength(2);
    } finally {
      await consumer?.close();
      await client.close();
    }
  }, 150_000);
});
