import { jobIdForEvent, QUEUE_NAMES, TRACKING_EVENT_JOB_OPTIONS, type TrackingEvent } from '@mailbeacon/contracts';
import type { Kysely, Database } from '@mailbeacon/db';
import { clickEventFixture, fixtureToken, messageEventFixture, openEventFixture, TEST_REDIS_URL } from '@mailbeacon/testing';
import { loadAggregatorConfig, type AggregatorConfig } from '../src/config';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';

/** Test support for the aggregator: a stream of events with known totals, and how to read the totals back. */

export interface EventStream {
  messages: TrackingEvent[];
  hits: TrackingEvent[];
  opens: number;
  clicks: number;
}

/**
 * `messages` messages, each opened and clicked a few times by people (distinct /24s, minutes
 * apart, after the send time), so every hit counts as human and the totals are known.
 */
export function eventStream(name: string, messages: number, hitsPerMessage: number, sentAt = Date.now() - 3_600_000): EventStream {
  const stream: EventStream = { messages: [], hits: [], opens: 0, clicks: 0 };
  for (let m = 0; m < messages; m++) {
    const token = fixtureToken(`${name}${m}`);
    stream.messages.push(messageEventFixture(token, { at: sentAt, tag: m % 2 ? 'odd' : 'even' }));
    for (let h = 0; h < hitsPerMessage; h++) {
      const at = sentAt + 60_000 * (h + 1);
      const ip = `10.${m % 250}.${h % 250}.0`;
      if (h % 3 === 2) {
        stream.hits.push(clickEventFixture(token, h % 4, { at, ip }));
        stream.clicks++;
      } else {
        stream.hits.push(openEventFixture(token, { at, ip }));
        stream.opens++;
      }
    }
  }
  return stream;
}

/** Adds events the way the rewriter and the tracker do (job id from the event id). */
export async function enqueue(queue: Queue, events: readonly TrackingEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 500) {
    await queue.addBulk(
      events.slice(i, i + 500).map((event) => ({ name: event.type, data: event, opts: { ...TRACKING_EVENT_JOB_OPTIONS, jobId: jobIdForEvent(event.id) } })),
    );
  }
}

export function eventsQueue(prefix: string, url: string): { queue: Queue; close(): Promise<void> } {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAMES.trackingEvents, { connection, prefix });
  return {
    queue,
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}

export interface StoredTotals {
  messages: number;
  knownMessages: number;
  rawOpens: number;
  rawClicks: number;
  messageOpens: number;
  messageClicks: number;
  hourlyMessages: number;
  hourlyOpens: number;
  hourlyClicks: number;
  hourlyHumanOpens: number;
  hourlyHumanClicks: number;
  hourlyUniqueOpens: number;
  linkClicks: number;
}

export async function storedTotals(db: Kysely<Database>): Promise<StoredTotals> {
  const { rows } = await sql<Record<keyof StoredTotals, string>>`
    select
      (select count(*) from messages) as "messages",
      (select count(*) from messages where platform_message_id is not null) as "knownMessages",
      (select count(*) from opens) as "rawOpens",
      (select count(*) from clicks) as "rawClicks",
      (select coalesce(sum(opens), 0) from messages) as "messageOpens",
      (select coalesce(sum(clicks), 0) from messages) as "messageClicks",
      (select coalesce(sum(messages), 0) from hourly_stats) as "hourlyMessages",
      (select coalesce(sum(opens), 0) from hourly_stats) as "hourlyOpens",
      (select coalesce(sum(clicks), 0) from hourly_stats) as "hourlyClicks",
      (select coalesce(sum(human_opens), 0) from hourly_stats) as "hourlyHumanOpens",
      (select coalesce(sum(human_clicks), 0) from hourly_stats) as "hourlyHumanClicks",
      (select coalesce(sum(unique_opens), 0) from hourly_stats) as "hourlyUniqueOpens",
      (select coalesce(sum(clicks), 0) from link_stats) as "linkClicks"`.execute(db);
  return Object.fromEntries(Object.entries(rows[0]).map(([key, value]) => [key, Number(value)])) as unknown as StoredTotals;
}

/** What storedTotals must say once a whole stream (all human, every message opened) is in. */
export function expectedTotals(stream: EventStream): StoredTotals {
  const messages = stream.messages.length;
  return {
    messages,
    knownMessages: messages,
    rawOpens: stream.opens,
    rawClicks: stream.clicks,
    messageOpens: stream.opens,
    messageClicks: stream.clicks,
    hourlyMessages: messages,
    hourlyOpens: stream.opens,
    hourlyClicks: stream.clicks,
    hourlyHumanOpens: stream.opens,
    hourlyHumanClicks: stream.clicks,
    hourlyUniqueOpens: stream.opens > 0 ? messages : 0,
    linkClicks: stream.clicks,
  };
}

/** Nothing waiting, active or delayed: every job was taken and finished. */
export async function queueDrained(queue: Queue): Promise<boolean> {
  return Object.values(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized')).every((count) => count === 0);
}

/** The aggregator's configuration for a test: its own database and prefix, small quick batches. */
export function testAggregatorConfig(databaseUrl: string, queuePrefix: string, env: Record<string, string> = {}): AggregatorConfig {
  return loadAggregatorConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: queuePrefix,
    AGGREGATOR_BATCH_SIZE: '50',
    AGGREGATOR_BATCH_WAIT_MS: '20',
    AGGREGATOR_METRICS_PORT: '0',
    ...env,
  });
}

export async function waitUntil(condition: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
