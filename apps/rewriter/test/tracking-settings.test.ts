import { MailbeaconClient, type ReadyMessage } from '@mailbeacon/client';
import { ServerRepository, TRACKING_SETTINGS_LISTENER_NAME, TrackingDomainRepository } from '@mailbeacon/db';
import { sampleValue, temporaryDatabase, TEST_REDIS_URL, uniquePrefix, type TemporaryDatabase } from '@mailbeacon/testing';
import { sql } from 'kysely';
import { pino } from 'pino';
import { loadRewriterConfig } from '../src/config';
import { startRewriter, type RunningRewriter } from '../src/rewriter';

/*
 * Which tracking domain the running rewriter uses, right after the settings change: its
 * periodic refresh is 10 minutes here, so only the change notifications can make it see them.
 */

const HTML = '<html><body><a href="https://shop.example/a">Shop</a></body></html>';
const message = (from: string) => Buffer.from([`From: ${from}`, 'To: reader@example.net', 'Subject: Hi', 'MIME-Version: 1.0', 'Content-Type: text/html; charset=utf-8', '', HTML, ''].join('\r\n'));

describe('the rewriter sees settings changes at once (DOMAIN_REFRESH_MS 10 minutes)', () => {
  let temp: TemporaryDatabase;
  let redisPrefix: ReturnType<typeof uniquePrefix>;
  let rewriter: RunningRewriter;
  let client: MailbeaconClient;
  let servers: ServerRepository;
  let domains: TrackingDomainRepository;
  const waiting = new Map<string, (m: ReadyMessage) => void>();
  let sent = 0;

  /** Enqueues a message from `from` for `server` and resolves with what comes back on outbound-ready. */
  const send = (server: string, from: string): Promise<ReadyMessage> => {
    const messageId = `settings-${++sent}@test`;
    const back = new Promise<ReadyMessage>((resolve) => waiting.set(messageId, resolve));
    return client.enqueueMessage({ messageId, server, raw: message(from) }).then(() => back);
  };

  beforeAll(async () => {
    temp = await temporaryDatabase();
    redisPrefix = uniquePrefix();
    servers = new ServerRepository(temp.db);
    domains = new TrackingDomainRepository(temp.db);
    rewriter = await startRewriter(
      loadRewriterConfig({
        DATABASE_URL: temp.url,
        REDIS_URL: TEST_REDIS_URL,
        QUEUE_PREFIX: redisPrefix.prefix,
        MAILBEACON_SECRET: 'rewriter-settings-test-secret-0123456789',
        DOMAIN_REFRESH_MS: '600000',
        REWRITER_THREADS: '0',
        REWRITER_METRICS_PORT: '0',
      }),
      pino({ level: 'silent' }),
    );
    client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix: redisPrefix.prefix });
    await client.consumeReady(async (m) => waiting.get(m.messageId)?.(m), { concurrency: 4 });
  });

  afterAll(async () => {
    await client?.close();
    await rewriter?.close();
    await redisPrefix?.cleanup();
    await temp?.drop();
  });

  /**
   * Sends messages until one comes back as `expected` (each of them either as before or as
   * expected): a change that leaves the message's domain in memory reaches the rewriter with its
   * notification, a few milliseconds after the commit, and only a notification can bring it here.
   */
  const appliesSoon = async (server: string, from: string, expected: Partial<ReadyMessage>, before: Partial<ReadyMessage>) => {
    for (let attempt = 1; ; attempt++) {
      const back = await send(server, from);
      const outcome = { tracked: back.tracked, ...(back.skipped !== undefined && { skipped: back.skipped }) };
      if (expect.objectContaining(expected).asymmetricMatch(outcome)) return;
      expect(outcome).toEqual(expect.objectContaining(before));
      if (attempt === 50) throw new Error(`the change did not reach the rewriter: still ${JSON.stringify(outcome)}`);
    }
  };

  test('a domain added applies to the very next message; updated (through the repository and in plain SQL) and removed, within moments', async () => {
    const server = (await servers.create('Shop')).token;
    expect((await send(server, 'news@shop.example')).skipped).toMatch(/^no-tracking-domain: /);

    await domains.add({ host: 'click.shop.example', server });
    expect((await send(server, 'news@shop.example')).tracked).toEqual({ links: 1, pixel: true });

    await domains.update('click.shop.example', { trackOpens: false });
    await appliesSoon(server, 'news@shop.example', { tracked: { links: 1, pixel: false } }, { tracked: { links: 1, pixel: true } });

    await sql`update tracking_domains set track_opens = true, excluded_domains = '{shop.example}' where host = 'click.shop.example'`.execute(temp.db);
    await appliesSoon(server, 'news@shop.example', { tracked: { links: 0, pixel: true } }, { tracked: { links: 1, pixel: false } });

    await domains.remove('click.shop.example');
    await appliesSoon(server, 'news@shop.example', { tracked: null, skipped: expect.stringMatching(/^no-tracking-domain: /) }, { tracked: { links: 0, pixel: true } });
  });

  test('a token no server has is named unknown-server and counted apart; a server created a moment ago is not unknown', async () => {
    const skips = async (reason: string) => sampleValue(await rewriter.metrics.metrics(), 'mailbeacon_rewriter_messages_total', { outcome: 'skipped', reason });
    const [unknownBefore, noDomainBefore] = [await skips('unknown-server'), await skips('no-tracking-domain')];
    const typo = await send('NoSuchServer', 'news@shop.example');
    expect(typo.tracked).toBeNull();
    expect(typo.skipped).toBe('unknown-server: no server has the token NoSuchServer (check the server token the platform sends)');
    expect(typo.raw.equals(message('news@shop.example'))).toBe(true);

    const created = (await servers.create('New')).token;
    await domains.add({ host: 'click.new.example', server: created });
    expect((await send(created, 'news@new.example')).tracked).toEqual({ links: 1, pixel: true });

    expect(await skips('unknown-server')).toBe(unknownBefore! + 1);
    expect(await skips('no-tracking-domain')).toBe(noDomainBefore);
  });

  test('after its listening connection is terminated, it reconnects and changes still apply to the very next message', async () => {
    const database = new URL(temp.url).pathname.slice(1);
    const listener = () =>
      sql<{ pid: number }>`select pid from pg_stat_activity
        where datname = ${database} and application_name = ${TRACKING_SETTINGS_LISTENER_NAME} and state = 'idle' and (query ilike 'listen%' or query = 'select 1')`
        .execute(temp.db)
        .then((result) => result.rows[0]?.pid);
    const before = await listener();
    expect(before).toBeDefined();
    await sql`select pg_terminate_backend(${before})`.execute(temp.db);
    for (const end = Date.now() + 15_000; ; await new Promise((resolve) => setTimeout(resolve, 20))) {
      const now = await listener();
      if (now !== undefined && now !== before) break;
      if (Date.now() > end) throw new Error('the rewriter did not listen again');
    }

    const server = (await servers.create('After')).token;
    await domains.add({ host: 'click.after.example', server });
    expect((await send(server, 'news@after.example')).tracked).toEqual({ links: 1, pixel: true });
  });
});
