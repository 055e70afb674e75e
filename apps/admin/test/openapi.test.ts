import { StatsWriter } from '@mailbeacon/aggregate';
import { EventPartitions } from '@mailbeacon/db';
import { capturingLogger, FIXTURE_DOMAIN, fixtureToken, freePort, openEventFixture, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import express, { type Express } from 'express';
import request from 'supertest';
import { adminAppOver } from './admin-over-database';
import { DAY, SCRIPTED, T0, writeScriptedStats } from './scripted-stats';

/*
 * GET /openapi.json against the real app: every route Express really has is documented with
 * its methods, every documented operation is a route (not a 404 "no route"), and real answers
 * validate against the documented schemas. A route added without its entry in openapi.ts
 * fails here.
 */

const TOKEN = 'openapi-test-admin-token';
const admin = { Authorization: `Bearer ${TOKEN}` };
const METHODS = ['get', 'post', 'patch', 'put', 'delete'] as const;

interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>;
  components: { schemas: Record<string, object> };
}

let temp: TemporaryDatabase;
let app: Express;
let document: OpenApiDocument;

const makeApp = (): Express => adminAppOver(temp.db, TOKEN, capturingLogger('fatal').logger);

beforeAll(async () => {
  temp = await temporaryDatabase();
  app = makeApp();
  document = (await request(app).get('/openapi.json').expect(200)).body;
});
afterAll(() => temp.drop());

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: RouterLayer[] };
  rawPath?: string;
}

/** `METHOD /path/{param}` for every route registered, sub-routers included (HEAD comes with GET). */
function registeredOperations(stack: RouterLayer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods)
        .filter((method) => method !== 'head' && method !== '_all')
        .map((method) => `${method.toUpperCase()} ${path}`);
    }
    if (layer.handle.stack) return registeredOperations(layer.handle.stack, `${prefix}${layer.rawPath === '/' ? '' : (layer.rawPath ?? '')}`);
    return [];
  });
}

function documentedOperations(doc: OpenApiDocument): string[] {
  return Object.entries(doc.paths).flatMap(([path, item]) => METHODS.filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`));
}

test('the document is OpenAPI 3.1, open (no token needed), and every schema in it compiles', () => {
  expect(document.openapi).toBe('3.1.0');
  // Strict: an unknown keyword or a malformed schema throws.
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addVocabulary(['components']);
  ajv.addSchema({ $id: 'https://mailbeacon.test/openapi.json', components: document.components }, 'https://mailbeacon.test/openapi.json');
  expect(Object.keys(document.components.schemas).length).toBeGreaterThan(10);
  for (const name of Object.keys(document.components.schemas)) {
    expect(() => ajv.compile({ $ref: `https://mailbeacon.test/openapi.json#/components/schemas/${name}` })).not.toThrow();
  }
});

test('every route the app registers is documented, with its methods, and nothing else is', () => {
  const registered = registeredOperations(app.router.stack as RouterLayer[]);
  expect(registered.length).toBeGreaterThan(10);
  expect(documentedOperations(document).sort()).toEqual([...new Set(registered)].sort());
});

test('a route added without documentation is caught, in a sub-router or beside a documented one', () => {
  const extended = makeApp();
  const reports = express.Router();
  reports.get('/weekly', (_req, res) => {
    res.json({});
  });
  extended.use('/servers/:token/reports', reports);
  // A documented path, with a method that is not.
  extended.delete('/servers/:token/stats/summary', (_req, res) => {
    res.json({});
  });
  const undocumented = registeredOperations(extended.router.stack as RouterLayer[]).filter((operation) => !documentedOperations(document).includes(operation));
  expect(undocumented).toEqual(['GET /servers/{token}/reports/weekly', 'DELETE /servers/{token}/stats/summary']);
});

test('every documented operation is a real route: with the admin token, none is a 404 "no route"', async () => {
  const values: Record<string, string> = { token: 'nosuchserver', host: 'click.nowhere.example', id: '1', idOrToken: 'x' };
  for (const operation of documentedOperations(document)) {
    const [method, template] = operation.split(' ');
    const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => values[name]);
    const res = await request(app)[method.toLowerCase() as 'get'](path).set(admin).set('Content-Type', 'application/json').send(method === 'GET' || method === 'DELETE' ? undefined : {});
    expect({ operation, status: res.status, error: res.body?.error }).not.toMatchObject({ error: expect.stringMatching(/^no route /) });
  }
});

test('the operations documented as open to API keys are exactly those a key of the server may call', async () => {
  const token = (await request(app).post('/servers').set(admin).send({ name: 'Key holder' }).expect(201)).body.token as string;
  const { key } = (await request(app).post(`/servers/${token}/api-keys`).set(admin).send({}).expect(201)).body;
  const values: Record<string, string> = { token, host: 'click.nowhere.example', id: '1', idOrToken: 'x' };
  const allowed: string[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    for (const method of METHODS.filter((candidate) => item[candidate])) {
      const operation = item[method] as { security?: Record<string, string[]>[]; responses: Record<string, { description: string }> };
      const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => values[name]);
      const res = await request(app)[method](path).set('Authorization', `Bearer ${key}`).set('Content-Type', 'application/json').send(method === 'get' || method === 'delete' ? undefined : {});
      const documentedForKeys = operation.security?.some((requirement) => 'apiKey' in requirement) ?? false;
      // Open operations answer anyone; the others either let the key through or refuse it with 403.
      if (operation.security?.length === 0) continue;
      expect({ operation: `${method} ${template}`, refused: res.status === 403 }).toEqual({ operation: `${method} ${template}`, refused: !documentedForKeys });
      if (documentedForKeys) allowed.push(`${method.toUpperCase()} ${template}`);
      expect(operation.responses['403'].description).toMatch(documentedForKeys ? /another server/ : /^an API key \(/);
    }
  }
  expect(allowed.sort()).toEqual([
    'GET /servers/{token}/messages/{idOrToken}',
    'GET /servers/{token}/stats/links',
    'GET /servers/{token}/stats/series',
    'GET /servers/{token}/stats/summary',
    'GET /servers/{token}/stats/tags',
  ]);
  expect(document.paths['/servers/{token}/stats/summary'].get).toMatchObject({ security: [{ adminToken: [] }, { apiKey: [] }] });
});

test('the stats operations document the contracts\' query parameters', () => {
  const parameters = (path: string) => (document.paths[path].get as unknown as { parameters: { name: string; in: string; schema: object }[] }).parameters;
  const names = (path: string) => parameters(path).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name);
  const scope = ['range', 'from', 'to', 'tag', 'trackingDomain', 'audience'];
  expect(names('/servers/{token}/stats/summary')).toEqual(scope);
  expect(names('/servers/{token}/stats/tags')).toEqual(scope);
  expect(names('/servers/{token}/stats/series')).toEqual([...scope, 'by']);
  expect(names('/servers/{token}/stats/links')).toEqual([...scope, 'limit']);
  const schemaOf = (name: string) => parameters('/servers/{token}/stats/links').find((parameter) => parameter.name === name)!.schema;
  expect(schemaOf('audience')).toEqual({ type: 'string', enum: ['people', 'all'], default: 'people' });
  expect(schemaOf('range')).toEqual({ type: 'string', enum: ['today', '7d', '30d'] });
  expect(schemaOf('limit')).toEqual({ type: 'string', pattern: '^\\d{1,6}$' });
});

describe('real answers validate against the documented schemas', () => {
  let ajv: Ajv2020;
  beforeAll(() => {
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(document as object, 'openapi.json');
  });

  /** Checks an answer against the schema documented for its operation and status. */
  function expectDocumented(method: string, path: string, res: request.Response): void {
    const response = document.paths[path]?.[method]?.responses[String(res.status)];
    expect({ method, path, status: res.status, documented: response !== undefined }).toMatchObject({ documented: true });
    if (res.status === 204) return;
    const pointer = `openapi.json#/paths/${path.replace(/~/g, '~0').replace(/\//g, '~1')}/${method}/responses/${res.status}/content/application~1json/schema`;
    const validate = ajv.getSchema(pointer);
    expect(validate).toBeDefined();
    const valid = validate!(res.body);
    expect({ method, path, status: res.status, errors: validate!.errors ?? null }).toEqual({ method, path, status: res.status, errors: null });
    expect(valid).toBe(true);
  }

  test('servers, domains, a check, API keys, health, and errors', async () => {
    const created = await request(app).post('/servers').set(admin).send({ name: 'Documented' }).expect(201);
    expectDocumented('post', '/servers', created);
    const token = created.body.token as string;
    expectDocumented('get', '/servers', await request(app).get('/servers').set(admin).expect(200));
    expectDocumented('patch', '/servers/{token}', await request(app).patch(`/servers/${token}`).set(admin).send({ name: 'Renamed' }).expect(200));

    expectDocumented('post', '/domains', await request(app).post('/domains').set(admin).send({ host: 'click.documented.example', server: token, excludedDomains: ['example.org'] }).expect(201));
    expectDocumented('get', '/domains', await request(app).get(`/domains?server=${token}`).set(admin).expect(200));
    expectDocumented('patch', '/domains/{host}', await request(app).patch('/domains/click.documented.example').set(admin).send({ ssl: false }).expect(200));
    // Aimed at a closed port: a failed check, with its steps and advice.
    const closed = await freePort();
    const check = await request(app).post('/domains/click.documented.example/check').set(admin).send({ address: '127.0.0.1', port: closed }).expect(200);
    expect(check.body.ok).toBe(false);
    expectDocumented('post', '/domains/{host}/check', check);
    expectDocumented('get', '/domains/{host}', await request(app).get('/domains/click.documented.example').set(admin).expect(200));

    const key = await request(app).post(`/servers/${token}/api-keys`).set(admin).send({ name: 'reports' }).expect(201);
    expectDocumented('post', '/servers/{token}/api-keys', key);
    expectDocumented('get', '/servers/{token}/api-keys', await request(app).get(`/servers/${token}/api-keys`).set(admin).expect(200));
    expectDocumented('delete', '/servers/{token}/api-keys/{id}', await request(app).delete(`/servers/${token}/api-keys/${key.body.id}`).set(admin).expect(204));
    expectDocumented('delete', '/domains/{host}', await request(app).delete('/domains/click.documented.example').set(admin).expect(204));

    expectDocumented('get', '/healthz', await request(app).get('/healthz').expect(200));
    expectDocumented('get', '/readyz', await request(app).get('/readyz').expect(200));
    expectDocumented('post', '/servers', await request(app).post('/servers').set(admin).send({ name: '', extra: 1 }).expect(400));
    expectDocumented('get', '/servers', await request(app).get('/servers').expect(401));
    expectDocumented('get', '/servers', await request(app).get('/servers').set('Authorization', `Bearer ${key.body.key}`).expect(401));
    expectDocumented('delete', '/servers/{token}', await request(app).delete('/servers/nosuchserver').set(admin).expect(404));
    expectDocumented('post', '/domains', await request(app).post('/domains').set(admin).send({ host: 'click.other.example', server: 'nosuchserver' }).expect(422));
    expectDocumented('delete', '/servers/{token}', await request(app).delete(`/servers/${token}`).set(admin).expect(204));
  });

  test('the numbers: summary, series, tags, links and a message, their errors, and a key refused elsewhere', async () => {
    const server = (await request(app).post('/servers').set(admin).send({ name: 'Counted' }).expect(201)).body.token as string;
    const other = (await request(app).post('/servers').set(admin).send({ name: 'Counted elsewhere' }).expect(201)).body.token as string;
    await writeScriptedStats(temp.db, server, other);
    // A message of which only an open arrived: its send fields are null.
    const orphan = fixtureToken('openapi-orphan');
    await new StatsWriter(temp.db, new EventPartitions(temp.db)).write([openEventFixture(orphan, { at: T0 + 30 * 60_000, server })]);
    const get = (path: string, query: Record<string, string> = DAY) => request(app).get(path).query(query).set(admin);

    for (const query of [DAY, { ...DAY, audience: 'all', tag: 'promo', trackingDomain: FIXTURE_DOMAIN }]) {
      const summary = await get(`/servers/${server}/stats/summary`, query).expect(200);
      expect(summary.body.machines.openReasons).not.toHaveLength(0);
      expectDocumented('get', '/servers/{token}/stats/summary', summary);
      const series = await get(`/servers/${server}/stats/series`, query).expect(200);
      expect(series.body.points).toHaveLength(24);
      expectDocumented('get', '/servers/{token}/stats/series', series);
      const tags = await get(`/servers/${server}/stats/tags`, query).expect(200);
      expect(tags.body.tags).not.toHaveLength(0);
      expectDocumented('get', '/servers/{token}/stats/tags', tags);
      const links = await get(`/servers/${server}/stats/links`, query).expect(200);
      expect(links.body.links).toHaveLength(1);
      expectDocumented('get', '/servers/{token}/stats/links', links);
    }
    // Nothing in the range: zero counts, null rates.
    const empty = await get(`/servers/${server}/stats/summary`, { from: '2020-01-01', to: '2020-01-02' }).expect(200);
    expect(empty.body.openRate).toBeNull();
    expectDocumented('get', '/servers/{token}/stats/summary', empty);

    const message = await get(`/servers/${server}/messages/${encodeURIComponent(SCRIPTED.aPlatformId)}`, {}).expect(200);
    expect(message.body.timeline.map((entry: { type: string }) => entry.type)).toEqual(['sent', 'open', 'open', 'click', 'click']);
    expectDocumented('get', '/servers/{token}/messages/{idOrToken}', message);
    const unsent = await get(`/servers/${server}/messages/${orphan}`, {}).expect(200);
    expect(unsent.body).toMatchObject({ platformMessageId: null, sentAt: null, linkCount: null, timeline: [{ type: 'open' }] });
    expectDocumented('get', '/servers/{token}/messages/{idOrToken}', unsent);

    expectDocumented('get', '/servers/{token}/stats/summary', await get(`/servers/${server}/stats/summary`, { from: 'last week' }).expect(400));
    expectDocumented('get', '/servers/{token}/stats/links', await get('/servers/nosuchserver/stats/links').expect(404));
    expectDocumented('get', '/servers/{token}/messages/{idOrToken}', await get(`/servers/${server}/messages/${SCRIPTED.c}`, {}).expect(404));
    const { key } = (await request(app).post(`/servers/${other}/api-keys`).set(admin).send({}).expect(201)).body;
    expectDocumented('get', '/servers/{token}/stats/tags', await request(app).get(`/servers/${server}/stats/tags`).set('Authorization', `Bearer ${key}`).expect(403));
    expectDocumented('get', '/servers/{token}/stats/tags', await request(app).get(`/servers/${other}/stats/tags`).set('Authorization', `Bearer ${key}`).expect(200));
  });

  test('a wrong answer does not validate (the check can fail)', async () => {
    const validate = ajv.getSchema('openapi.json#/paths/~1servers/post/responses/201/content/application~1json/schema')!;
    expect(validate({ id: 1, name: 'x', token: 'abc', createdAt: 'yesterday' })).toBe(false);
    expect(validate({ id: 1, name: 'x', token: 'abc', createdAt: new Date().toISOString(), secret: 'extra' })).toBe(false);

    const schemaOf = (path: string) => ajv.getSchema(`openapi.json#/paths/${path.replace(/\//g, '~1')}/get/responses/200/content/application~1json/schema`)!;
    const scope = { server: 'abc', from: '2026-11-20T00:00:00.000Z', to: '2026-11-21T00:00:00.000Z', audience: 'people' };
    const links = schemaOf('/servers/{token}/stats/links');
    expect(links({ ...scope, limit: 20, links: [{ url: 'https://x.example/', clicks: 1, allClicks: 2 }] })).toBe(true);
    expect(links({ ...scope, limit: 20, links: [{ url: 'https://x.example/', clicks: 1.5, allClicks: 2 }] })).toBe(false);
    expect(links({ ...scope, audience: 'bots', limit: 20, links: [] })).toBe(false);
    expect(links({ ...scope, limit: 20, links: [], by: 'day' })).toBe(false);
    const message = schemaOf('/servers/{token}/messages/{idOrToken}');
    const sent = { token: 't', server: 'abc', platformMessageId: null, recipient: null, tag: null, trackingDomain: null, linkCount: null, pixel: null, sentAt: null, opens: 0, humanOpens: 0, clicks: 0, humanClicks: 0, truncated: false };
    expect(message({ ...sent, timeline: [{ type: 'sent', at: scope.from }] })).toBe(true);
    expect(message({ ...sent, timeline: [{ type: 'bounce', at: scope.from }] })).toBe(false);
    expect(message({ ...sent, timeline: [{ type: 'sent', at: scope.from, ip: null }] })).toBe(false);
  });
});
