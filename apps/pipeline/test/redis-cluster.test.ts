import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MailbeaconClient, type ReadyConsumer, type ReadyMessage } from '@mailbeacon/client';
import { ConfigError } from '@mailbeacon/contracts';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { BROWSER_AGENT, capturingLogger, freePort, OwnRedisCluster, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { loadAggregatorConfig, startAggregator, type RunningAggregator } from '../../aggregator/src';
import { loadRewriterConfig, startRewriter, type RunningRewriter } from '../../rewriter/src';
import { loadTrackerConfig, startTracker, type RunningTracker } from '../../tracker/src';
import { htmlMessage, trackedLinksIn } from '../src/demo';
import { checkRedis, PreflightError } from '../src/preflight';

/*
 * Every process on a Redis Cluster of the test's own (3 masters): the platform's client enqueues
 * through redis-cluster://, the rewriter tracks the message and announces it, the tracker
 * publishes a click, the aggregator stores both.
 */

const SECRET = 'redis-cluster-test-secret-0123456789';
const DOMAIN = 'click.cluster.example';
const HTML = Buffer.from('<html><body><p><a href="https://shop.example/spring?a=1">Spring</a></p></body></html>');

describe('every process on a Redis Cluster', () => {
  let cluster: OwnRedisCluster;
  let temp: TemporaryDatabase;
  let dir: string;
  const prefix = `{mbtest-${randomBytes(4).toString('hex')}}`;
  let rewriter: RunningRewriter | undefined;
  let tracker: RunningTracker | undefined;
  let aggregator: RunningAggregator | undefined;
  let client: MailbeaconClient | undefined;
  let consumer: ReadyConsumer | undefined;

  beforeAll(async () => {
    [cluster, temp] = await Promise.all([OwnRedisCluster.start(), temporaryDatabase()]);
    dir = mkdtempSync(path.join(tmpdir(), 'mb-cluster-'));
  }, 60_000);

  afterAll(async () => {
    await consumer?.close();
    await client?.close();
    await tracker?.close();
    await rewriter?.close();
    await aggregator?.close();
    await cluster?.stop();
    await temp?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the preflight of npm start reaches the cluster', async () => {
    await expect(checkRedis(cluster.url)).resolves.toBeUndefined();
    await expect(checkRedis(`redis-cluster://127.0.0.1:${await freePort()}`)).rejects.toThrow(PreflightError);
  });

  test('enqueue → tracked on outbound-ready → a click through the tracker → counted by the aggregator', async () => {
    const server = (await new ServerRepository(temp.db).create('Cluster')).token;
    await new TrackingDomainRepository(temp.db).add({ host: DOMAIN, server });
    const env = { REDIS_URL: cluster.url, QUEUE_PREFIX: prefix, DATABASE_URL: temp.url, MAILBEACON_SECRET: SECRET };
    const rewriterLog = capturingLogger('debug');
    rewriter = await startRewriter(loadRewriterConfig({ ...env, REWRITER_THREADS: '1', REWRITER_METRICS_PORT: '0' }), rewriterLog.logger);
    aggregator = await startAggregator(loadAggregatorConfig({ ...env, AGGREGATOR_BATCH_WAIT_MS: '20', AGGREGATOR_METRICS_PORT: '0' }), capturingLogger('info').logger);
    tracker = await startTracker(loadTrackerConfig({ ...env, TRACKER_PORT: String(await freePort()), SPOOL_DIR: path.join(dir, 'spool') }), capturingLogger('info').logger);

    // The rewriter checked the eviction policy of every master.
    const policy = rewriterLog.records.find((record) => /maxmemory-policy is noeviction/.test(String(record.msg)));
    expect((policy?.nodes as string[] | undefined)?.sort()).toEqual([...cluster.addresses].sort());

    client = new MailbeaconClient({ connection: cluster.url, prefix });
    const ready: ReadyMessage[] = [];
    consumer = await client.consumeReady(async (message) => void ready.push(message));
    const messageId = '<cluster-1@cluster.example>';
    const raw = htmlMessage(HTML, { from: 'News <news@cluster.example>', to: 'reader@example.org', subject: 'Hi', messageId });
    await client.enqueueMessage({ messageId, server, raw, recipient: 'reader@example.org', tag: 'cluster' });
    const out = await until(() => ready.find((message) => message.messageId === messageId), 20_000, 'the tracked message');
    expect(out.tracked).toEqual({ links: 1, pixel: true });
    const { links } = trackedLinksIn(out.raw, DOMAIN);
    expect(links.map((link) => link.destination)).toEqual(['https://shop.example/spring?a=1']);

    const click = await fetch(tracker.url + new URL(links[0].url).pathname, { headers: { 'X-Postal-Track-Host': '1', 'User-Agent': BROWSER_AGENT }, redirect: 'manual' });
    expect(click.status).toBe(302);
    expect(click.headers.get('location')).toBe('https://shop.example/spring?a=1');
    // Through the cluster, not the tracker's spool.
    expect(tracker.publisher.stats()).toMatchObject({ eventsToRedis: 1, eventsSpooled: 0, redisConnected: true });

    const row = await until(async () => {
      const found = await temp.db.selectFrom('messages').selectAll().where('token', '=', out.messageToken).executeTakeFirst();
      return found && found.clicks === 1 ? found : undefined;
    }, 20_000, 'the aggregator to store the message and the click');
    expect(row).toMatchObject({ server, platform_message_id: messageId, tag: 'cluster', tracking_domain: DOMAIN, link_count: 1 });
    const clicks = await temp.db.selectFrom('clicks').select(['link_index', 'url']).where('message_token', '=', out.messageToken).execute();
    expect(clicks).toEqual([{ link_index: 0, url: 'https://shop.example/spring?a=1' }]);
    expect(aggregator.stats).toMatchObject({ failed: 0 });
  });
});

describe('configuration for a Redis Cluster', () => {
  const CLUSTER = { REDIS_URL: 'redis-cluster://10.0.0.1:6379,10.0.0.2:6379', MAILBEACON_SECRET: SECRET };

  test.each([
    ['rewriter', loadRewriterConfig],
    ['tracker', loadTrackerConfig],
    ['aggregator', loadAggregatorConfig],
  ])('%s: a QUEUE_PREFIX without a hash tag is a configuration error naming QUEUE_PREFIX', (_, load) => {
    for (const QUEUE_PREFIX of [undefined, 'mailbeacon', '{}mb', 'mb{x']) {
      let error: unknown;
      try {
        load({ ...CLUSTER, QUEUE_PREFIX });
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.map((problem) => problem.variable)).toEqual(['QUEUE_PREFIX']);
      expect((error as ConfigError).message).toMatch(/^QUEUE_PREFIX: must contain a hash tag such as \{mb\} on Redis Cluster/);
    }
    expect(() => load({ ...CLUSTER, QUEUE_PREFIX: '{mb}' })).not.toThrow();
    expect(() => load({ ...CLUSTER, QUEUE_PREFIX: 'mail{beacon}' })).not.toThrow();
    // A single server needs none.
    expect(() => load({ REDIS_URL: 'redis://127.0.0.1:6379', QUEUE_PREFIX: 'mailbeacon', MAILBEACON_SECRET: SECRET })).not.toThrow();
  });

  test("the platform's client refuses a prefix without a hash tag too (before connecting)", () => {
    expect(() => new MailbeaconClient({ connection: CLUSTER.REDIS_URL })).toThrow(/prefix must contain a hash tag such as \{mb\} on Redis Cluster/);
  });

  test('reported together with the other bad variables', () => {
    let error: unknown;
    try {
      loadAggregatorConfig({ ...CLUSTER, QUEUE_PREFIX: 'mailbeacon', AGGREGATOR_BATCH_WAIT_MS: '10000' });
    } catch (caught) {
      error = caught;
    }
    expect((error as ConfigError).problems.map((problem) => problem.variable)).toEqual(['QUEUE_PREFIX', 'AGGREGATOR_BATCH_WAIT_MS']);
  });
});

async function until<T>(attempt: () => T | undefined | Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
