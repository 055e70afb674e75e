import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import request from 'supertest';
import type { AdminConfig } from '../src/config';
import { startAdmin, STATS_CONNECTIONS, type RunningAdmin } from '../src/main';
import { DAY } from './scripted-stats';

/*
 * The numbers cannot load the admin's database, through the process as it is wired (its own
 * pool for the stats, with a statement timeout). A genuinely slow read: the test holds an
 * exclusive lock on hourly_stats, so every summary waits on PostgreSQL for it.
 */

const TOKEN = 'stats-load-test-admin-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

let temp: TemporaryDatabase;

beforeAll(async () => {
  temp = await temporaryDatabase();
});
afterAll(() => temp.drop());

async function startWith(statsStatementTimeoutMs: number): Promise<{ admin: RunningAdmin; server: string }> {
  const config: AdminConfig = {
    port: 0, host: '127.0.0.1', adminToken: TOKEN, adminTokenGenerated: false, trustProxy: false,
    consoleSession: { idleMs: 3_600_000, maxAgeMs: 43_200_000 }, apiKeyRequestsPerMinute: 120, statsStatementTimeoutMs,
    databaseUrl: temp.url, logLevel: 'silent',
  };
  const admin = await startAdmin(config);
  const server = (await request(admin.url).post('/servers').set(auth).send({ name: 'Loaded' }).expect(201)).body.token as string;
  return { admin, server };
}

/** Holds an exclusive lock on hourly_stats until the returned function is called. */
async function lockHourlyStats(): Promise<() => Promise<void>> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holding = temp.db.transaction().execute(async (trx) => {
    await sql`lock table hourly_stats in access exclusive mode`.execute(trx);
    locked();
    await released;
  });
  await Promise.race([isLocked, holding]);
  return async () => {
    release();
    await holding;
  };
}

/** Waits until `count` queries of this database wait for a lock (polling pg_stat_activity). */
async function queriesWaitingForLock(count: number): Promise<void> {
  for (;;) {
    const { rows } = await sql<{ waiting: number }>`
      select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(temp.db);
    if (rows[0].waiting >= count) return;
    await sleep(20);
  }
}

test('a read of the numbers over STATS_STATEMENT_TIMEOUT_MS is cancelled and answered 503 with a clear error', async () => {
  const { admin, server } = await startWith(200);
  const unlock = await lockHourlyStats();
  try {
    const res = await request(admin.url).get(`/servers/${server}/stats/summary`).query(DAY).set(auth).expect(503);
    expect(res.body).toEqual({ error: expect.stringMatching(/^the numbers took too long to read and the query was cancelled: ask for a shorter range/) });
  } finally {
    await unlock();
    await admin.close();
  }
});

test('/readyz stays 200, and the rest of the API answers, while every stats connection is busy', async () => {
  const { admin, server } = await startWith(60_000);
  const unlock = await lockHourlyStats();
  let waiting: Promise<request.Response[]> | undefined;
  try {
    // More slow reads than the stats pool and the main pool together have connections.
    waiting = Promise.all(Array.from({ length: 10 }, () => request(admin.url).get(`/servers/${server}/stats/summary`).query(DAY).set(auth).then((res) => res)));
    await queriesWaitingForLock(STATS_CONNECTIONS);
    expect((await request(admin.url).get('/readyz').expect(200)).body).toEqual({ status: 'ready' });
    await request(admin.url).get('/servers').set(auth).expect(200);
  } finally {
    await unlock();
    // Once the lock is gone, every waiting read is answered.
    const answers = await waiting;
    await admin.close();
    expect(answers?.map((res) => res.status)).toEqual(Array(10).fill(200));
  }
});
