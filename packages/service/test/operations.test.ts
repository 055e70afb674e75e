import { freePort } from '@mailbeacon/testing';
import { allReady, recentCheck, serveOperations, type OperationsServer, type Readiness } from '../src';

const metrics = { contentType: 'text/plain; version=0.0.4; charset=utf-8', metrics: async () => '# HELP demo_total A demo\n# TYPE demo_total counter\ndemo_total 3\n' };

describe('serveOperations', () => {
  let server: OperationsServer;
  let readiness: Readiness | Promise<Readiness> = true;

  beforeAll(async () => {
    server = await serveOperations({ port: await freePort(), host: '127.0.0.1', metrics, ready: () => readiness, readyTimeoutMs: 200 });
  });
  afterAll(() => server?.close());

  test('GET /healthz: 200 ok', async () => {
    const res = await fetch(`${server.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  test('GET /readyz: 200 ready, 503 with the reason, 503 when the check hangs', async () => {
    readiness = true;
    let res = await fetch(`${server.url}/readyz`);
    expect([res.status, await res.text()]).toEqual([200, 'ready\n']);
    readiness = { ready: false, reason: 'PostgreSQL: connection refused' };
    res = await fetch(`${server.url}/readyz`);
    expect([res.status, await res.text()]).toEqual([503, 'not ready: PostgreSQL: connection refused\n']);
    readiness = false;
    res = await fetch(`${server.url}/readyz`);
    expect([res.status, await res.text()]).toEqual([503, 'not ready: not ready\n']);
    readiness = new Promise<Readiness>(() => {});
    res = await fetch(`${server.url}/readyz`);
    expect([res.status, await res.text()]).toEqual([503, 'not ready: readiness check: no answer within 200 ms\n']);
    readiness = true;
  });

  test('GET /metrics: the Prometheus text, with its content type', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(metrics.contentType);
    expect(await res.text()).toContain('demo_total 3');
  });

  test('anything else: 404; other methods: 405', async () => {
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics/x`)).status).toBe(404);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  test('a taken port is a StartupError', async () => {
    const port = Number(new URL(server.url).port);
    await expect(serveOperations({ port, host: '127.0.0.1', metrics, ready: () => true })).rejects.toMatchObject({ name: 'StartupError', message: expect.stringMatching(/cannot listen on 127\.0\.0\.1:\d+/) });
  });
});

describe('recentCheck and allReady', () => {
  test('a success counts for freshMs; a failure names the dependency; concurrent callers share one probe', async () => {
    let calls = 0;
    let fail = false;
    const check = recentCheck(
      async () => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 20));
        if (fail) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      },
      { name: 'PostgreSQL', freshMs: 100 },
    );
    expect(await Promise.all([check(), check(), check()])).toEqual([{ ready: true }, { ready: true }, { ready: true }]);
    expect(calls).toBe(1);
    fail = true;
    expect(await check()).toEqual({ ready: true }); // still fresh
    expect(calls).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await check()).toEqual({ ready: false, reason: 'PostgreSQL: connect ECONNREFUSED 127.0.0.1:5432' });
    expect(await check()).toEqual({ ready: false, reason: 'PostgreSQL: connect ECONNREFUSED 127.0.0.1:5432' }); // failures are not cached
    expect(calls).toBe(3);
  });

  test('a probe slower than timeoutMs fails', async () => {
    const check = recentCheck(() => new Promise(() => {}), { name: 'PostgreSQL', timeoutMs: 50 });
    expect(await check()).toEqual({ ready: false, reason: 'PostgreSQL: no answer within 50 ms' });
  });

  test('allReady joins the reasons of what is not ready', async () => {
    expect(await allReady(() => true, async () => ({ ready: true }))).toEqual({ ready: true });
    expect(
      await allReady(
        () => ({ ready: false, reason: 'Redis: reconnecting' }),
        () => true,
        () => {
          throw new Error('boom');
        },
      ),
    ).toEqual({ ready: false, reason: 'Redis: reconnecting; boom' });
  });
});
