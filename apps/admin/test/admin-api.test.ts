import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createDatabase } from '@mailbeacon/db';
import { capturingLogger, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import type { Express } from 'express';
import request from 'supertest';
import { adminAppOver } from './admin-over-database';

/*
 * The admin API over a real PostgreSQL database, with the real domain check aimed (through
 * `address`/`port`) at small HTTP servers on 127.0.0.1 standing in for the operator's proxy.
 */

const TOKEN = 'test-admin-token-0123456789';
const auth = { Authorization: `Bearer ${TOKEN}` };
const ISO_DATE = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
const SERVER_TOKEN = expect.stringMatching(/^[A-Za-z0-9_-]{12}$/);


/** A local HTTP server answering `GET /` with `status` and `body`: the proxy + tracker the check looks at. */
async function answering(status: number, body: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.writeHead(status, { 'content-type': 'text/plain' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let temp: TemporaryDatabase;
let app: Express;
let log: ReturnType<typeof capturingLogger>;

beforeAll(async () => {
  temp = await temporaryDatabase();
  log = capturingLogger('debug');
  app = adminAppOver(temp.db, TOKEN, log.logger);
});

afterAll(async () => {
  await temp.drop();
});

async function newServer(name: string): Promise<{ id: number; name: string; token: string; createdAt: string }> {
  const res = await request(app).post('/servers').set(auth).send({ name }).expect(201);
  return res.body;
}

describe('authentication', () => {
  test('GET /healthz is open', async () => {
    const res = await request(app).get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  test.each([
    ['no Authorization header', undefined],
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a prefix of the token', `Bearer ${TOKEN.slice(0, 10)}`],
    ['another scheme', `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`],
    ['an empty bearer', 'Bearer '],
  ])('%s is refused with 401 and WWW-Authenticate: Bearer', async (_case, header) => {
    const req = request(app).get('/servers');
    if (header !== undefined) req.set('Authorization', header);
    const res = await req.expect(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(res.body).toEqual({ error: 'missing or wrong admin token (send Authorization: Bearer <ADMIN_TOKEN>)' });
  });

  test('every other route is behind the token, even unknown ones and writes', async () => {
    await request(app).post('/servers').send({ name: 'x' }).expect(401);
    await request(app).delete('/domains/click.example.com').expect(401);
    await request(app).get('/no-such-route').expect(401);
  });

  test('the right token passes (the scheme is case-insensitive)', async () => {
    await request(app).get('/servers').set(auth).expect(200);
    await request(app).get('/servers').set('Authorization', `bearer ${TOKEN}`).expect(200);
  });

  test('answers are not cached and the token is not logged', async () => {
    const res = await request(app).get('/servers').set(auth).expect(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(JSON.stringify(log.records)).not.toContain(TOKEN);
  });
});

describe('servers and tracking domains', () => {
  test('the whole flow: add a server, add a domain, list, read, change, delete', async () => {
    const server = await newServer('  Acme mail  ');
    expect(server).toEqual({ id: expect.any(Number), name: 'Acme mail', token: SERVER_TOKEN, createdAt: ISO_DATE });
    expect((await request(app).get('/servers').set(auth).expect(200)).body.servers).toContainEqual(server);

    const created = await request(app)
      .post('/domains')
      .set(auth)
      .send({ host: 'Click.Acme.Example.', server: server.token, ssl: false, excludedDomains: ['Acme.Example', 'acme.example', 'Cdn.Example'] })
      .expect(201);
    const domain = {
      id: expect.any(Number),
      server: server.token,
      host: 'click.acme.example',
      ssl: false,
      trackClicks: true,
      trackOpens: true,
      excludedDomains: ['acme.example', 'cdn.example'],
      verification: { status: 'unchecked', message: null, checkedAt: null },
      updatedAt: ISO_DATE,
    };
    expect(created.body).toEqual(domain);
    expect(created.headers.location).toBe('/domains/click.acme.example');
    expect(created.headers['content-type']).toMatch(/^application\/json/);

    // The list, all of it and by server; another server's filter does not show it.
    const other = await newServer('Other');
    expect((await request(app).get('/domains').set(auth).expect(200)).body.domains).toContainEqual(domain);
    expect((await request(app).get('/domains').query({ server: server.token }).set(auth).expect(200)).body).toEqual({ domains: [domain] });
    expect((await request(app).get('/domains').query({ server: other.token }).set(auth).expect(200)).body).toEqual({ domains: [] });

    // Read it back, by any spelling of the host.
    expect((await request(app).get('/domains/click.acme.example').set(auth).expect(200)).body).toEqual(domain);
    expect((await request(app).get('/domains/CLICK.acme.example.').set(auth).expect(200)).body).toEqual(domain);

    // Choose SSL, stop tracking opens, clear the excluded domains; the rest stays.
    const patched = await request(app).patch('/domains/click.acme.example').set(auth).send({ ssl: true, trackOpens: false, excludedDomains: [] }).expect(200);
    const changed = { ...domain, ssl: true, trackOpens: false, excludedDomains: [] };
    expect(patched.body).toEqual(changed);
    expect(patched.body.updatedAt >= created.body.updatedAt).toBe(true);
    expect((await request(app).get('/domains/click.acme.example').set(auth).expect(200)).body).toEqual(changed);

    const deleted = await request(app).delete('/domains/click.acme.example').set(auth).expect(204);
    expect(deleted.text).toBe('');
    await request(app).get('/domains/click.acme.example').set(auth).expect(404);
    expect((await request(app).get('/domains').query({ server: server.token }).set(auth).expect(200)).body).toEqual({ domains: [] });
  });
});

describe('renaming and removing a server', () => {
  test('rename keeps the token; remove is refused (409) while the server has tracking domains', async () => {
    const server = await newServer('Before');
    const renamed = await request(app).patch(`/servers/${server.token}`).set(auth).send({ name: '  After  ' }).expect(200);
    expect(renamed.body).toEqual({ ...server, name: 'After' });
    expect((await request(app).get('/servers').set(auth).expect(200)).body.servers).toContainEqual({ ...server, name: 'After' });

    await request(app).post('/domains').set(auth).send({ host: 'click.owned.example', server: server.token }).expect(201);
    const refused = await request(app).delete(`/servers/${server.token}`).set(auth).expect(409);
    expect(refused.body).toEqual({ error: `server ${server.token} still has tracking domains (click.owned.example): remove them first` });
    expect((await request(app).get('/domains/click.owned.example').set(auth).expect(200)).body.server).toBe(server.token);

    await request(app).delete('/domains/click.owned.example').set(auth).expect(204);
    const removed = await request(app).delete(`/servers/${server.token}`).set(auth).expect(204);
    expect(removed.text).toBe('');
    expect((await request(app).get('/servers').set(auth).expect(200)).body.servers).not.toContainEqual(expect.objectContaining({ token: server.token }));
  });

  test('404 for an unknown token, 400 for a bad token or name (each field named)', async () => {
    const body = { error: 'no server with token nosuchtoken' };
    expect((await request(app).patch('/servers/nosuchtoken').set(auth).send({ name: 'x' }).expect(404)).body).toEqual(body);
    expect((await request(app).delete('/servers/nosuchtoken').set(auth).expect(404)).body).toEqual(body);
    expect((await request(app).delete('/servers/bad%20token!').set(auth).expect(400)).body).toEqual({ error: 'invalid server token', issues: [{ field: 'token', message: 'must be a server token' }] });

    const server = await newServer('Kept');
    for (const name of ['', 'ding\u0007', 'esc\u001b[2J', 'nul\u0000', '--help']) {
      const res = await request(app).patch(`/servers/${server.token}`).set(auth).send({ name }).expect(400);
      expect(res.body).toEqual({ error: 'invalid server', issues: [{ field: 'name', message: expect.any(String) }] });
    }
    expect((await request(app).patch(`/servers/${server.token}`).set(auth).send({ name: 'x', token: 'mine' }).expect(400)).body.issues).toEqual([{ field: 'token', message: 'is not a known property' }]);
    // Nothing was changed by the refused renames.
    expect((await request(app).get('/servers').set(auth).expect(200)).body.servers).toContainEqual(server);
  });
});

describe('errors', () => {
  let token: string;
  beforeAll(async () => {
    token = (await newServer('Errors')).token;
    await request(app).post('/domains').set(auth).send({ host: 'click.errors.example', server: token }).expect(201);
  });

  test('400 names each bad field', async () => {
    const res = await request(app)
      .post('/domains')
      .set(auth)
      .send({ host: 'not a host', server: token, ssl: 'yes', excludedDomains: ['ok.example', 'bad_domain!'], colour: 'red' })
      .expect(400);
    expect(res.body).toEqual({
      error: 'invalid tracking domain',
      issues: [
        { field: 'host', message: 'must be a domain name such as click.example.com' },
        { field: 'ssl', message: expect.stringContaining('expected boolean') },
        { field: 'excludedDomains[1]', message: 'must be a domain name such as click.example.com' },
        { field: 'colour', message: 'is not a known property' },
      ],
    });
  });

  test('400 for a bad server name, a missing body, an unknown property alone', async () => {
    expect((await request(app).post('/servers').set(auth).send({ name: '   ' }).expect(400)).body).toEqual({
      error: 'invalid server',
      issues: [{ field: 'name', message: 'must not be empty' }],
    });
    expect((await request(app).post('/servers').set(auth).expect(400)).body.issues).toEqual([{ field: 'name', message: expect.any(String) }]);
    expect((await request(app).post('/servers').set(auth).send({ name: 'ok', token: 'mine' }).expect(400)).body).toEqual({
      error: 'invalid server',
      issues: [{ field: 'token', message: 'is not a known property' }],
    });
  });

  test('400 for an empty update, a bad type in an update, a bad host in the path', async () => {
    expect((await request(app).patch('/domains/click.errors.example').set(auth).send({}).expect(400)).body).toEqual({
      error: 'invalid tracking domain update',
      issues: [{ field: '(root)', message: 'give at least one of ssl, trackClicks, trackOpens, excludedDomains' }],
    });
    expect((await request(app).patch('/domains/click.errors.example').set(auth).send({ trackClicks: 1 }).expect(400)).body.issues).toEqual([
      { field: 'trackClicks', message: expect.stringContaining('expected boolean') },
    ]);
    expect((await request(app).patch('/domains/click.errors.example').set(auth).send({ host: 'other.example' }).expect(400)).body.issues).toEqual([
      { field: '(root)', message: 'give at least one of ssl, trackClicks, trackOpens, excludedDomains' },
      { field: 'host', message: 'is not a known property' },
    ]);
    expect((await request(app).get('/domains/under_score.example').set(auth).expect(400)).body).toEqual({
      error: 'invalid host',
      issues: [{ field: 'host', message: 'must be a domain name such as click.example.com' }],
    });
    // Nothing was changed by the refused updates.
    expect((await request(app).get('/domains/click.errors.example').set(auth).expect(200)).body).toMatchObject({ ssl: true, trackClicks: true });
  });

  test('400, never 500, for a NUL or another control character in a name, in a query, or in a path', async () => {
    const control = { error: 'invalid server', issues: [{ field: 'name', message: 'must not contain control characters (such as NUL, ESC, BEL or a line break)' }] };
    for (const name of ['a\u0000b', 'red\u001b[31m', 'ding\u0007', 'two\nlines', 'csi\u009b2J']) {
      expect((await request(app).post('/servers').set(auth).send({ name }).expect(400)).body).toEqual(control);
    }
    expect((await request(app).post('/servers').set(auth).send({ name: '--help' }).expect(400)).body.issues).toEqual([{ field: 'name', message: 'must not start with - (it would read as a command-line option)' }]);
    expect((await request(app).get('/domains?server=a%00b').set(auth).expect(400)).body).toEqual({ error: 'invalid query', issues: [{ field: 'server', message: 'must be a server token' }] });
    expect((await request(app).get('/domains/click%00.example').set(auth).expect(400)).body.issues).toEqual([{ field: 'host', message: 'must be a domain name such as click.example.com' }]);
  });

  test('400 for a malformed percent-encoding in a path, on every route with a parameter', async () => {
    const body = { error: 'malformed percent-encoding in the path' };
    expect((await request(app).get('/domains/%E0%A4%A').set(auth).expect(400)).body).toEqual(body);
    expect((await request(app).patch('/domains/%E0%A4%A').set(auth).send({ ssl: false }).expect(400)).body).toEqual(body);
    expect((await request(app).delete('/domains/%E0%A4%A').set(auth).expect(400)).body).toEqual(body);
    expect((await request(app).post('/domains/%ZZ/check').set(auth).send({}).expect(400)).body).toEqual(body);
    expect((await request(app).patch('/servers/%E0%A4%A').set(auth).send({ name: 'x' }).expect(400)).body).toEqual(body);
    expect((await request(app).delete('/servers/%FF').set(auth).expect(400)).body).toEqual(body);
    expect(log.records.filter((record) => record.msg === 'request failed')).toEqual([]);
  });

  test('400 for an IP address as a tracking domain, in every form', async () => {
    const issue = { field: 'host', message: 'must be a domain name such as click.example.com, not an IP address (its last label cannot be a number)' };
    for (const host of ['127.0.0.1', '10.0.0.1', '127.1', '0x7f000001', '::1', '[::1]']) {
      expect((await request(app).post('/domains').set(auth).send({ host, server: token }).expect(400)).body).toEqual({ error: 'invalid tracking domain', issues: [issue] });
    }
  });

  test('422 for an unknown server, naming the field', async () => {
    const res = await request(app).post('/domains').set(auth).send({ host: 'click.nobody.example', server: 'no-such-server' }).expect(422);
    expect(res.body).toEqual({ error: 'no server with token no-such-server', issues: [{ field: 'server', message: 'no server has this token' }] });
    expect((await request(app).get('/domains').query({ server: 'no-such-server' }).set(auth).expect(422)).body.issues).toEqual([
      { field: 'server', message: 'no server has this token' },
    ]);
    expect((await request(app).get('/domains?server=a&server=b').set(auth).expect(400)).body.issues).toEqual([{ field: 'server', message: 'must be one server token' }]);
  });

  test('409 for a host that is already a tracking domain (whatever its spelling)', async () => {
    const other = (await newServer('Duplicate')).token;
    const res = await request(app).post('/domains').set(auth).send({ host: 'CLICK.errors.example.', server: other }).expect(409);
    expect(res.body).toEqual({ error: 'click.errors.example is already a tracking domain' });
  });

  test('404 for an unknown host on every route, and for unknown routes', async () => {
    const host = 'click.unknown.example';
    const body = { error: `no tracking domain ${host}` };
    expect((await request(app).get(`/domains/${host}`).set(auth).expect(404)).body).toEqual(body);
    expect((await request(app).patch(`/domains/${host}`).set(auth).send({ ssl: false }).expect(404)).body).toEqual(body);
    expect((await request(app).delete(`/domains/${host}`).set(auth).expect(404)).body).toEqual(body);
    expect((await request(app).post(`/domains/${host}/check`).set(auth).expect(404)).body).toEqual(body);
    expect((await request(app).get('/nothing/here').set(auth).expect(404)).body).toEqual({ error: 'no route GET /nothing/here' });
  });

  test('malformed JSON is 400, another content type 415, a body over 100kb 413', async () => {
    const malformed = await request(app).post('/servers').set(auth).set('Content-Type', 'application/json').send('{"name": "x",').expect(400);
    expect(malformed.body).toEqual({ error: 'malformed JSON body' });
    const text = await request(app).post('/servers').set(auth).set('Content-Type', 'text/plain').send('name=x').expect(415);
    expect(text.body).toEqual({ error: 'request bodies must be JSON (Content-Type: application/json)' });
    const big = await request(app).post('/servers').set(auth).send({ name: 'x'.repeat(110 * 1024) }).expect(413);
    expect(big.body).toEqual({ error: 'request body too large (limit 100kb)' });
    // A JSON value that is not an object or array is refused by the parser too.
    await request(app).post('/servers').set(auth).set('Content-Type', 'application/json').send('"x"').expect(400);
  });

  test('any other failure is a 500 with a generic message; the real error is logged', async () => {
    // Repositories over a database whose connections are gone: a real failure, not a mock.
    const dead = createDatabase(temp.url);
    await dead.selectFrom('servers').select('id').execute();
    await dead.destroy();
    const broken = capturingLogger('debug');
    const brokenApp = adminAppOver(dead, TOKEN, broken.logger);
    const res = await request(brokenApp).get('/servers').set(auth).expect(500);
    expect(res.body).toEqual({ error: 'internal error (see the admin API log)' });
    const logged = broken.records.find((record) => record.msg === 'request failed');
    expect(logged).toMatchObject({ level: 50, method: 'GET', path: '/servers', err: { message: expect.stringContaining('destroyed') } });
  });
});

describe('POST /domains/:host/check', () => {
  let token: string;
  beforeAll(async () => {
    token = (await newServer('Checks')).token;
  });

  test('a working setup is recorded as ok, with the verdict', async () => {
    const proxy = await answering(200, 'Hello.\n');
    try {
      await request(app).post('/domains').set(auth).send({ host: 'click.checks.example', server: token, ssl: false }).expect(201);
      const res = await request(app).post('/domains/click.checks.example/check').set(auth).send({ address: '127.0.0.1', port: proxy.port }).expect(200);
      expect(res.body).toEqual({
        host: 'click.checks.example',
        ok: true,
        steps: [
          { name: 'dns', ok: expect.any(Boolean), detail: expect.any(String) },
          { name: 'http', ok: true, detail: `GET http://click.checks.example:${proxy.port}/ (via 127.0.0.1) → 200 "Hello."` },
        ],
        verdict: 'click.checks.example is ready for tracking',
        advice: [],
      });
      const read = await request(app).get('/domains/click.checks.example').set(auth).expect(200);
      expect(read.body.verification).toEqual({ status: 'ok', message: 'click.checks.example is ready for tracking', checkedAt: ISO_DATE });
    } finally {
      await proxy.close();
    }
  });

  test('a broken setup is recorded as failed; the check uses the domain ssl setting', async () => {
    const proxy = await answering(404, 'Not Found');
    try {
      // Set to https: the plain-http stand-in cannot answer a TLS handshake, so the check fails on TLS.
      await request(app).patch('/domains/click.checks.example').set(auth).send({ ssl: true }).expect(200);
      const tls = await request(app).post('/domains/click.checks.example/check').set(auth).send({ address: '127.0.0.1', port: proxy.port }).expect(200);
      expect(tls.body).toMatchObject({ ok: false, steps: [{ name: 'dns' }, { name: 'http', ok: false, detail: expect.stringContaining(`GET https://click.checks.example:${proxy.port}/`) }] });

      await request(app).patch('/domains/click.checks.example').set(auth).send({ ssl: false }).expect(200);
      const res = await request(app).post('/domains/click.checks.example/check').set(auth).send({ address: '127.0.0.1', port: proxy.port }).expect(200);
      expect(res.body).toMatchObject({ host: 'click.checks.example', ok: false, verdict: expect.stringMatching(/^click\.checks\.example is NOT ready: GET \/ answered 404/) });
      expect(res.body.advice.length).toBeGreaterThan(0);
      const read = await request(app).get('/domains/click.checks.example').set(auth).expect(200);
      expect(read.body.verification).toEqual({ status: 'failed', message: res.body.verdict, checkedAt: ISO_DATE });
    } finally {
      await proxy.close();
    }
  });

  test('bad check options are 400, naming the field', async () => {
    const res = await request(app).post('/domains/click.checks.example/check').set(auth).send({ address: 'not an address', port: 70000, timeout: 1 }).expect(400);
    expect(res.body).toEqual({
      error: 'invalid domain check',
      issues: [
        { field: 'address', message: 'must be an IP address or a host name' },
        { field: 'port', message: 'must be an integer from 1 to 65535' },
        { field: 'timeout', message: 'is not a known property' },
      ],
    });
  });
});
