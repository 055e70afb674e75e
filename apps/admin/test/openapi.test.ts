import { capturingLogger, freePort, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import express, { type Express } from 'express';
import request from 'supertest';
import { adminAppOver } from './admin-over-database';

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

test('a route added without documentation is caught (as the stats routes will be until documented)', () => {
  const extended = makeApp();
  const stats = express.Router();
  stats.get('/summary', (_req, res) => {
    res.json({});
  });
  extended.use('/servers/:token/stats', stats);
  extended.get('/servers/:token/messages/:id', (_req, res) => {
    res.json({});
  });
  const undocumented = registeredOperations(extended.router.stack as RouterLayer[]).filter((operation) => !documentedOperations(document).includes(operation));
  expect(undocumented).toEqual(['GET /servers/{token}/stats/summary', 'GET /servers/{token}/messages/{id}']);
});

test('every documented operation is a real route: with the admin token, none is a 404 "no route"', async () => {
  const values: Record<string, string> = { token: 'nosuchserver', host: 'click.nowhere.example', id: '1' };
  for (const operation of documentedOperations(document)) {
    const [method, template] = operation.split(' ');
    const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => values[name]);
    const res = await request(app)[method.toLowerCase() as 'get'](path).set(admin).set('Content-Type', 'application/json').send(method === 'GET' || method === 'DELETE' ? undefined : {});
    expect({ operation, status: res.status, error: res.body?.error }).not.toMatchObject({ error: expect.stringMatching(/^no route /) });
  }
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

  test('a wrong answer does not validate (the check can fail)', async () => {
    const validate = ajv.getSchema('openapi.json#/paths/~1servers/post/responses/201/content/application~1json/schema')!;
    expect(validate({ id: 1, name: 'x', token: 'abc', createdAt: 'yesterday' })).toBe(false);
    expect(validate({ id: 1, name: 'x', token: 'abc', createdAt: new Date().toISOString(), secret: 'extra' })).toBe(false);
  });
});
