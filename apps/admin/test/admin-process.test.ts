import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { capturingLogger, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { pino } from 'pino';
import request from 'supertest';
import { GENERATED_ADMIN_TOKEN_WARNING, type AdminConfig } from '../src/config';
import { startAdmin, StartupError } from '../src/main';

/* The process entry, in-process: real database, real port, real shutdown. */

const TOKEN = 'process-test-admin-token';
const auth = { Authorization: `Bearer ${TOKEN}` };


let temp: TemporaryDatabase;
let config: AdminConfig;

beforeAll(async () => {
  temp = await temporaryDatabase();
  config = { port: 0, host: '127.0.0.1', adminToken: TOKEN, adminTokenGenerated: false, trustProxy: false, consoleSession: { idleMs: 3_600_000, maxAgeMs: 43_200_000 }, apiKeyRequestsPerMinute: 120, statsStatementTimeoutMs: 10_000, databaseUrl: temp.url, logLevel: 'silent' };
});

afterAll(async () => {
  await temp.drop();
});

test('startAdmin listens, serves the API, and closes cleanly after finishing a request in flight', async () => {
  // A proxy stand-in that answers the domain check slowly, so a request is in flight at close().
  let received!: () => void;
  const checkArrived = new Promise<void>((resolve) => (received = resolve));
  const slowProxy = http.createServer((_req, res) => {
    received();
    setTimeout(() => res.end('Hello.'), 300);
  });
  await new Promise<void>((resolve) => slowProxy.listen(0, '127.0.0.1', resolve));
  const { logger, records } = capturingLogger('info');

  const admin = await startAdmin(config, { logger });
  try {
    expect(admin.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(records).toContainEqual(expect.objectContaining({ msg: 'admin API listening', url: admin.url }));
    expect(records.some((record) => record.level === 40)).toBe(false);

    await request(admin.url).get('/healthz').expect(200, { status: 'ok' });
    await request(admin.url).get('/servers').expect(401);
    const server = (await request(admin.url).post('/servers').set(auth).send({ name: 'Process' }).expect(201)).body;
    await request(admin.url).post('/domains').set(auth).send({ host: 'click.process.example', server: server.token, ssl: false }).expect(201);

    const check = request(admin.url)
      .post('/domains/click.process.example/check')
      .set(auth)
      .send({ address: '127.0.0.1', port: (slowProxy.address() as AddressInfo).port })
      .then((res) => res);
    await checkArrived;
    const closed = admin.close();
    expect(admin.close()).toBe(closed);

    const answer = await check;
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ ok: true, verdict: 'click.process.example is ready for tracking' });
    await closed;
    expect(records).toContainEqual(expect.objectContaining({ msg: 'admin API stopped' }));
    // No longer accepting connections.
    await expect(request(admin.url).get('/healthz')).rejects.toThrow(/ECONNREFUSED/);
    // The in-flight check was recorded before the database closed.
    const stored = await temp.db.selectFrom('tracking_domains').select('verification_status').where('host', '=', 'click.process.example').executeTakeFirstOrThrow();
    expect(stored.verification_status).toBe('ok');
  } finally {
    await admin.close();
    await new Promise((resolve) => slowProxy.close(resolve));
  }
});

test('a generated admin token is logged once, with a warning', async () => {
  const { logger, records } = capturingLogger('info');
  const admin = await startAdmin({ ...config, adminToken: 'generated-token-for-this-run', adminTokenGenerated: true }, { logger });
  try {
    const warnings = records.filter((record) => record.level === 40);
    expect(warnings).toEqual([expect.objectContaining({ msg: GENERATED_ADMIN_TOKEN_WARNING, adminToken: 'generated-token-for-this-run' })]);
    await request(admin.url).get('/servers').set('Authorization', 'Bearer generated-token-for-this-run').expect(200);
  } finally {
    await admin.close();
  }
});

test('an unreachable database is a one-line StartupError naming the URL without its password', async () => {
  const attempt = startAdmin({ ...config, databaseUrl: 'postgres://postgres:s3cret@127.0.0.1:1/mailbeacon' }, { logger: pino({ level: 'silent' }) });
  await expect(attempt).rejects.toThrow(StartupError);
  const message = await attempt.catch((error: Error) => error.message);
  expect(message).toBe('cannot open the database postgres://postgres:***@127.0.0.1:1/mailbeacon: connect ECONNREFUSED 127.0.0.1:1');
});

test('a port in use is a StartupError', async () => {
  const first = await startAdmin(config, { logger: pino({ level: 'silent' }) });
  try {
    const port = Number(new URL(first.url).port);
    await expect(startAdmin({ ...config, port }, { logger: pino({ level: 'silent' }) })).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
  } finally {
    await first.close();
  }
});
