import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { QUEUE_NAMES, type ClickEvent, type OpenEvent, type TrackingEvent } from '@mailbeacon/contracts';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

export { freePort, OwnRedis } from '@mailbeacon/testing';

/** Test support for the event publisher: events, temp dirs, queues, and Redis servers of our own. */

export function openEvent(overrides: Partial<OpenEvent> = {}): OpenEvent {
  return {
    type: 'open',
    id: randomUUID(),
    server: 'srv_test',
    messageToken: 'msgtoken_0123456789abcdef',
    at: new Date().toISOString(),
    ip: '203.0.113.7',
    userAgent: 'jest',
    method: 'GET',
    ...overrides,
  };
}

export function clickEvent(overrides: Partial<ClickEvent> = {}): ClickEvent {
  return { ...openEvent(), type: 'click', linkIndex: 0, url: 'https://shop.example/a?x=1', ...overrides };
}

/** Alternating opens and clicks. */
export function events(count: number): TrackingEvent[] {
  return Array.from({ length: count }, (_, i) => (i % 2 === 0 ? openEvent() : clickEvent({ linkIndex: i })));
}

export function spoolLine(event: TrackingEvent): string {
  return `${JSON.stringify(event)}\n`;
}

export interface TempDir {
  path: string;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = await mkdtemp(path.join(tmpdir(), 'mb-event-publisher-'));
  return { path: dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The tracking-events queue, on a connection of its own, to look at what was added. */
export function inspectQueue(redisUrl: string, prefix: string) {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(QUEUE_NAMES.trackingEvents, { connection, prefix });
  return {
    queue,
    /** Waiting job ids, oldest first (the order a worker takes them). */
    async waitingIds(): Promise<string[]> {
      const jobs = await queue.getJobs(['wait'], 0, -1, true);
      return jobs.map((job) => job.id!);
    },
    async close() {
      await queue.close();
      connection.disconnect();
    },
  };
}


export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs `fn` and returns its result with how long it took. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}
