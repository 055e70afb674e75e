import { capturingLogger, linkUrl, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import type { Express } from 'express';
import request from 'supertest';
import { adminAppOver } from './admin-over-database';
import { DAY, HOUR, iso, SCRIPTED, T0, writeScriptedStats } from './scripted-stats';

/*
 * Server-scoped read-only API keys, against the real app, its real stats and message routes,
 * and a real PostgreSQL database filled with a scripted send → open → click (scripted-stats.ts).
 */

const TOKEN = 'api-keys-test-admin-token';
const admin = { Authorization: `Bearer ${TOKEN}` };
const bearer = (key: string) => ({ Authorization: `Bearer ${key}` });
const ISO_DATE = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const NO_ROUTE = /^no route /;
const STATS = ['summary', 'series', 'tags', 'links'] as const;

let temp: TemporaryDatabase;
let app: Express;

beforeAll(async () => {
  temp = await temporaryDatabase();
  app = adminAppOver(temp.db, TOKEN, capturingLogger('fatal').logger);
});
afterAll(() => temp.drop());

async function newServer(name: string): Promise<string> {
  return (await request(app).post('/servers').set(admin).send({ name }).expect(201)).body.token;
}

async function newKey(server: string, name?: string): Promise<{ id: number; key: string; prefix: string }> {
  return (await request(app).post(`/servers/${server}/api-keys`).set(admin).send(name === undefined ? {} : { name }).expect(201)).body;
}

describe('managing API keys (admin token)', () => {
  test('create shows the key once; list shows its prefix, never the key; revoke keeps it listed as revoked', async () => {
    const server = await newServer('Customer A');
    const created = await request(app).post(`/servers/${server}/api-keys`).set(admin).send({ name: 'Acme dashboard' }).expect(201);
    expect(created.body).toEqual({ id: expect.any(Number), server, name: 'Acme dashboard', prefix: created.body.key.slice(0, 12), key: expect.stringMatching(/^mbk_[A-Za-z0-9_-]{43}$/), createdAt: ISO_DATE, lastUsedAt: null, revokedAt: null });
    expect(created.headers['cache-control']).toBe('no-store');
    const unnamed = await request(app).post(`/servers/${server}/api-keys`).set(admin).set('Content-Length', '0').expect(201);
    expect(unnamed.body.name).toBeNull();

    const listed = await request(app).get(`/servers/${server}/api-keys`).set(admin).expect(200);
    const { key, ...shown } = created.body;
    expect(listed.body).toEqual({ apiKeys: [shown, expect.objectContaining({ id: unnamed.body.id })] });
    expect(listed.text).not.toContain(key.slice(12));

    await request(app).delete(`/servers/${server}/api-keys/${created.body.id}`).set(admin).expect(204);
    const after = await request(app).get(`/servers/${server}/api-keys`).set(admin).expect(200);
    expect(after.body.apiKeys[0]).toEqual({ ...shown, revokedAt: ISO_DATE });
    // Revoking again changes nothing.
    await request(app).delete(`/servers/${server}/api-keys/${created.body.id}`).set(admin).expect(204);
    expect((await request(app).get(`/servers/${server}/api-keys`).set(admin)).body).toEqual(after.body);
  });

  test('errors: unknown server 404, another server\'s key 404, bad id or name 400 naming the field', async () => {
    const server = await newServer('Customer B');
    const other = await newServer('Customer C');
    const { id } = await newKey(other);
    expect((await request(app).post('/servers/nosuchserver/api-keys').set(admin).send({}).expect(404)).body).toEqual({ error: 'no server with token nosuchserver' });
    expect((await request(app).get('/servers/nosuchserver/api-keys').set(admin).expect(404)).body).toEqual({ error: 'no server with token nosuchserver' });
    expect((await request(app).delete(`/servers/${server}/api-keys/${id}`).set(admin).expect(404)).body).toEqual({ error: `server ${server} has no API key ${id}` });
    expect((await request(app).delete(`/servers/${server}/api-keys/0`).set(admin).expect(400)).body).toEqual({ error: 'invalid API key id', issues: [{ field: 'id', message: 'must be an API key id (a positive integer)' }] });
    expect((await request(app).post(`/servers/${server}/api-keys`).set(admin).send({ name: 'a\u001bb', scope: 'all' }).expect(400)).body).toEqual({
      error: 'invalid API key',
      issues: [
        { field: 'name', message: expect.stringContaining('control characters') },
        { field: 'scope', message: 'is not a known property' },
      ],
    });
    // The other server's key is untouched.
    expect((await request(app).get(`/servers/${other}/api-keys`).set(admin)).body.apiKeys[0].revokedAt).toBeNull();
  });

  test('a server with keys in force is not removed (409, naming them); once they are revoked it is', async () => {
    const server = await newServer('Customer D');
    const { id, prefix } = await newKey(server, 'reporting');
    expect((await request(app).delete(`/servers/${server}`).set(admin).expect(409)).body).toEqual({ error: `server ${server} still has API keys in force (${id} ${prefix}… "reporting"): revoke them first` });
    await request(app).delete(`/servers/${server}/api-keys/${id}`).set(admin).expect(204);
    await request(app).delete(`/servers/${server}`).set(admin).expect(204);
  });
});

describe('what an API key may do', () => {
  let own: string;
  let other: string;
  let key: string;
  beforeAll(async () => {
    own = await newServer('Own');
    other = await newServer('Other');
    ({ key } = await newKey(own, 'customer'));
    await writeScriptedStats(temp.db, own, other);
  });

  const asKey = (path: string) => request(app).get(path).query(DAY).set(bearer(key));
  const asAdmin = (path: string) => request(app).get(path).query(DAY).set(admin);

  test('read its own server\'s summary, series, tags and links: the scripted numbers, as the admin token reads them', async () => {
    const counts = { messages: 2, opens: 1, uniqueOpens: 1, clicks: 2, uniqueClicks: 2 };
    const scope = { server: own, from: iso(Date.UTC(2026, 10, 20)), to: iso(Date.UTC(2026, 10, 21)), audience: 'people' };
    const zero = { messages: 0, opens: 0, uniqueOpens: 0, clicks: 0, uniqueClicks: 0 };
    const expected: Record<(typeof STATS)[number], object> = {
      summary: { ...scope, ...counts, openRate: 0.5, clickRate: 1, clickToOpenRate: 2, machines: expect.objectContaining({ opens: 2, clicks: 1 }) },
      series: {
        ...scope,
        by: 'hour',
        points: Array.from({ length: 24 }, (_, hour) => ({ at: iso(Date.UTC(2026, 10, 20, hour)), ...zero })).map((point) =>
          point.at === iso(T0) ? { ...point, messages: 2, opens: 1, uniqueOpens: 1 } : point.at === iso(T0 + HOUR) || point.at === iso(T0 + 2 * HOUR) ? { ...point, clicks: 1, uniqueClicks: 1 } : point,
        ),
      },
      tags: {
        ...scope,
        tags: [
          { tag: null, messages: 1, opens: 0, uniqueOpens: 0, clicks: 1, uniqueClicks: 1, openRate: 0, clickRate: 1, clickToOpenRate: null },
          { tag: 'promo', messages: 1, opens: 1, uniqueOpens: 1, clicks: 1, uniqueClicks: 1, openRate: 1, clickRate: 1, clickToOpenRate: 1 },
        ],
      },
      links: { ...scope, limit: 20, links: [{ url: linkUrl(1), clicks: 2, allClicks: 3 }] },
    };
    for (const stats of STATS) {
      const path = `/servers/${own}/stats/${stats}`;
      const res = await asKey(path).expect(200);
      expect({ stats, body: res.body }).toEqual({ stats, body: expected[stats] });
      expect(res.body).toEqual((await asAdmin(path).expect(200)).body);
      await request(app).head(path).query(DAY).set(bearer(key)).expect(200);
    }
    const [listed] = (await request(app).get(`/servers/${own}/api-keys`).set(admin)).body.apiKeys;
    expect(listed.lastUsedAt).toEqual(ISO_DATE);
  });

  test('read a message of its own server, by platform id or token (GET and HEAD)', async () => {
    const res = await request(app).get(`/servers/${own}/messages/${encodeURIComponent(SCRIPTED.aPlatformId)}`).set(bearer(key)).expect(200);
    expect(res.body).toMatchObject({ token: SCRIPTED.a, server: own, platformMessageId: SCRIPTED.aPlatformId, tag: 'promo', opens: 2, humanOpens: 1, clicks: 2, humanClicks: 1 });
    expect(res.body.timeline.map((entry: { type: string }) => entry.type)).toEqual(['sent', 'open', 'open', 'click', 'click']);
    expect((await request(app).get(`/servers/${own}/messages/${SCRIPTED.a}`).set(bearer(key)).expect(200)).body).toEqual(res.body);
    await request(app).head(`/servers/${own}/messages/${SCRIPTED.b}`).set(bearer(key)).expect(200);
    // Under the stats path but no such route: an ordinary 404, not a refusal.
    expect((await request(app).get(`/servers/${own}/stats/nothing-here`).set(bearer(key)).expect(404)).body.error).toMatch(NO_ROUTE);
  });

  test('another server\'s message is not found through its own server\'s path (404), by token or platform id', async () => {
    for (const id of [SCRIPTED.c, SCRIPTED.cPlatformId]) {
      const res = await request(app).get(`/servers/${own}/messages/${encodeURIComponent(id)}`).set(bearer(key)).expect(404);
      expect(res.body).toEqual({ error: `server ${own} has no message with token or platform id ${JSON.stringify(id)}` });
    }
  });

  type Method = 'get' | 'post' | 'patch' | 'delete' | 'options';
  const refused: [string, Method, () => string][] = [
    ...STATS.map((stats): [string, Method, () => string] => [`another server's ${stats}`, 'get', () => `/servers/${other}/stats/${stats}?from=${DAY.from}`]),
    ['another server\'s message, by token', 'get', () => `/servers/${other}/messages/${SCRIPTED.c}`],
    ['another server\'s message, by platform id', 'get', () => `/servers/${other}/messages/${encodeURIComponent(SCRIPTED.cPlatformId)}`],
    ['the server list', 'get', () => '/servers'],
    ['the tracking domains', 'get', () => '/domains'],
    ['the metrics', 'get', () => '/metrics'],
    ['its own server\'s keys', 'get', () => `/servers/${own}/api-keys`],
    ['an unknown route', 'get', () => '/no-such-route'],
    ['its own stats, spelt in capitals (the router would match it)', 'get', () => `/SERVERS/${own}/STATS/summary`],
    ['a path that decodes into its own stats', 'get', () => `/servers/${own}%2Fstats/summary`],
    ['a path climbing out of its stats', 'get', () => `/servers/${own}/stats/../../domains`],
    ['a path climbing out of its stats, percent-encoded', 'get', () => `/servers/${own}/stats/%2e%2E/%2E./domains`],
    ['a write under its own stats', 'post', () => `/servers/${own}/stats/summary`],
    ['a new server', 'post', () => '/servers'],
    ['renaming its server', 'patch', () => `/servers/${own}`],
    ['removing its server', 'delete', () => `/servers/${own}`],
    ['a new key', 'post', () => `/servers/${own}/api-keys`],
    ['revoking a key', 'delete', () => `/servers/${own}/api-keys/1`],
    ['a new tracking domain', 'post', () => '/domains'],
    ['changing a tracking domain', 'patch', () => '/domains/click.own.example'],
    ['removing a tracking domain', 'delete', () => '/domains/click.own.example'],
    ['OPTIONS on its own stats', 'options', () => `/servers/${own}/stats/summary`],
  ];
  test.each(refused)('never %s: 403 with the reason', async (_case, method, path) => {
    const res = await request(app)[method](path()).set(bearer(key)).set('Content-Type', 'application/json').send(method === 'get' || method === 'options' ? undefined : { name: 'Hijacked' });
    expect(res.status).toBe(403);
    expect(res.body).toEqual({ error: `an API key only reads its own server's numbers: GET /servers/${own}/stats… and GET /servers/${own}/messages…` });
  });

  test('nothing was changed by those attempts', async () => {
    const names = (await request(app).get('/servers').set(admin)).body.servers.map((server: { name: string }) => server.name);
    expect(names).not.toContain('Hijacked');
    expect(names).toEqual(expect.arrayContaining(['Own', 'Other']));
    expect((await request(app).get(`/servers/${own}/api-keys`).set(admin)).body.apiKeys).toHaveLength(1);
  });

  test('another server\'s key cannot read this server', async () => {
    const { key: othersKey } = await newKey(other);
    const theirs = await request(app).get(`/servers/${other}/stats/summary`).query(DAY).set(bearer(othersKey)).expect(200);
    expect(theirs.body).toMatchObject({ server: other, messages: 1, opens: 1, clicks: 0 });
    await request(app).get(`/servers/${other}/messages/${SCRIPTED.c}`).set(bearer(othersKey)).expect(200);
    await request(app).get(`/servers/${own}/stats/summary`).query(DAY).set(bearer(othersKey)).expect(403);
    await request(app).get(`/servers/${own}/messages/${SCRIPTED.a}`).set(bearer(othersKey)).expect(403);
  });

  test('a revoked, unknown or malformed key is 401 with WWW-Authenticate', async () => {
    const { id, key: revoked, prefix } = await newKey(own);
    await request(app).delete(`/servers/${own}/api-keys/${id}`).set(admin).expect(204);
    const cases: [string, string][] = [
      [revoked, `API key ${prefix}… was revoked`],
      [`mbk_${'A'.repeat(43)}`, 'unknown API key'],
      [`${key}x`, 'unknown API key'],
      ['mbk_', 'unknown API key'],
    ];
    for (const [given, error] of cases) {
      const res = await request(app).get(`/servers/${own}/stats/summary`).set(bearer(given)).expect(401);
      expect(res.body).toEqual({ error });
      expect(res.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    }
  });

  test('the refusals are counted as unauthorized in the metrics, and the key is never logged', async () => {
    const log = capturingLogger('debug');
    const logged = adminAppOver(temp.db, TOKEN, log.logger);
    await request(logged).get('/servers').set(bearer(key)).expect(403);
    const metrics = (await request(logged).get('/metrics').set(admin).expect(200)).text;
    expect(metrics).toContain('mailbeacon_admin_requests_total{method="GET",route="unauthorized",status="403"} 1');
    expect(JSON.stringify(log.records)).not.toContain(key.slice(4));
  });
});

describe('the rate of each key', () => {
  test('a key over its requests per minute gets 429 with Retry-After; other keys and the admin token are not slowed', async () => {
    const server = await newServer('Busy customer');
    const { key: busy, prefix } = await newKey(server, 'dashboard');
    const { key: calm } = await newKey(server, 'reports');
    const log = capturingLogger('debug');
    const limited = adminAppOver(temp.db, TOKEN, log.logger, { apiKeyRequestsPerMinute: 3 });
    const summary = (credential: string) => request(limited).get(`/servers/${server}/stats/summary`).query(DAY).set(bearer(credential));
    for (let i = 0; i < 3; i++) await summary(busy).expect(200);
    const refused = await summary(busy).expect(429);
    expect(refused.body).toEqual({ error: expect.stringMatching(new RegExp(`^API key ${prefix}… is over its rate of 3 requests a minute: retry after \\d+ seconds$`)) });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    await request(limited).get(`/servers/${server}/messages/nothing`).set(bearer(busy)).expect(429);
    await summary(calm).expect(200);
    for (let i = 0; i < 5; i++) await summary(TOKEN).expect(200);
    expect(log.records).toContainEqual(expect.objectContaining({ msg: 'API key over its rate', server, level: 40 }));
    expect(JSON.stringify(log.records)).not.toContain(busy.slice(12));
  });
});

test('an admin token that happens to start with mbk_ is still the admin token', async () => {
  const adminToken = `mbk_${'z'.repeat(43)}`;
  const mimic = adminAppOver(temp.db, adminToken, capturingLogger('fatal').logger);
  await request(mimic).get('/servers').set(bearer(adminToken)).expect(200);
});
