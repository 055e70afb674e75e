import { capturingLogger, OwnPostgres, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import request from 'supertest';
import type { AdminConfig } from '../src/config';
import { startAdmin, type RunningAdmin } from '../src/main';

/* /healthz, /readyz and /metrics of the admin API, in-process on a real port and real PostgreSQL servers. */

const TOKEN = 'operations-test-admin-token';
const auth = { Authorization: `Bearer ${TOKEN}` };
const config = (databaseUrl: string): AdminConfig => ({ port: 0, host: '127.0.0.1', adminToken: TOKEN, adminTokenGenerated: false, trustProxy: false, consoleSession: { idleMs: 3_600_000, maxAgeMs: 43_200_000 }, apiKeyRequestsPerMinute: 120, statsStatementTimeoutMs: 10_000, databaseUrl, logLevel: 'silent' });

/** A sample's value in a Prometheus text exposition (labels given in their exposition order). */
const sample = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.slice(series.length + 1));

describe('admin operations endpoints', () => {
  let temp: TemporaryDatabase;
  let admin: RunningAdmin;
  let log: ReturnType<typeof capturingLogger>;

  beforeAll(async () => {
    temp = await temporaryDatabase();
    log = capturingLogger('info');
    admin = await startAdmin(config(temp.url), { logger: log.logger });
  });
  afterAll(async () => {
    await admin?.close();
    await temp?.drop();
  });

  test('/healthz and /readyz need no token', async () => {
    await request(admin.url).get('/healthz').expect(200, { status: 'ok' });
    const ready = await request(admin.url).get('/readyz').expect(200, { status: 'ready' });
    expect(ready.headers['cache-control']).toBe('no-store');
  });

  test('/metrics: 401 without the token, the Prometheus text with it', async () => {
    const refused = await request(admin.url).get('/metrics').expect(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer');
    await request(admin.url).get('/metrics').set('Authorization', 'Bearer wrong-token-0123456789').expect(401);

    await request(admin.url).get('/servers').set(auth).expect(200);
    await request(admin.url).get('/domains/click.nowhere.example').set(auth).expect(404);
    const res = await request(admin.url).get('/metrics').set(auth).expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = res.text;
    expect(sample(text, 'mailbeacon_admin_requests_total{method="GET",route="/servers",status="200"}')).toBe(1);
    // The route's pattern, never the host asked for.
    expect(sample(text, 'mailbeacon_admin_requests_total{method="GET",route="/domains/:host",status="404"}')).toBe(1);
    expect(sample(text, 'mailbeacon_admin_requests_total{method="GET",route="unauthorized",status="401"}')).toBe(2);
    expect(text).not.toContain('click.nowhere.example');
    expect(text).toContain('mailbeacon_admin_request_duration_seconds_bucket');
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // Polling that succeeds is not logged at info; a refused scrape is.
    expect(log.records.filter((record) => record.url === '/readyz' || (record.url === '/metrics' && record.status === 200))).toEqual([]);
    expect(log.records.some((record) => record.url === '/metrics' && record.status === 401)).toBe(true);
  });
});

test('/readyz is 503 naming PostgreSQL while the database is down, /healthz stays 200', async () => {
  const postgres = await OwnPostgres.start();
  let admin: RunningAdmin | undefined;
  try {
    admin = await startAdmin(config(postgres.url('mailbeacon_admin_ready')), { logger: capturingLogger('fatal').logger });
    await request(admin.url).get('/readyz').expect(200);
    await postgres.stop('fast');
    let res = await request(admin.url).get('/readyz');
    for (const end = Date.now() + 15_000; res.status === 200 && Date.now() < end; res = await request(admin.url).get('/readyz')) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ status: 'not ready', reason: expect.stringMatching(/^PostgreSQL: /) });
    await request(admin.url).get('/healthz').expect(200);
  } finally {
    await admin?.close();
    await postgres.destroy();
  }
}, 60_000);
