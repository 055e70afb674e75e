import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConsoleSessionRepository } from '@mailbeacon/db';
import { capturingLogger, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import type { Express } from 'express';
import request from 'supertest';
import type { TrustProxy } from '@mailbeacon/contracts';
import { adminAppOver } from './admin-over-database';
import { ConsoleAssetsMissingError, findConsoleAssets, type ConsoleAssets } from '../src/console-assets';
import { FAILED_AUTHENTICATIONS_ALLOWED as LOGIN_ATTEMPTS } from '../src/request-limits';

/*
 * The console's sessions, CSRF protection and gatekeeping, over HTTP against the real app,
 * the real PostgreSQL sessions and the real built console (packages/console/dist; npm ci or
 * npm run build makes it). The browser's view of the same is console-browser.test.ts.
 */

const TOKEN = 'test-admin-token-0123456789';
const LIMITS = { idleMs: 3_600_000, maxAgeMs: 12 * 3_600_000 };

let temp: TemporaryDatabase;
let assets: ConsoleAssets;

function consoleApp(options: { trustProxy?: TrustProxy; assets?: ConsoleAssets | Error } = {}): Express {
  return adminAppOver(temp.db, TOKEN, capturingLogger('debug').logger, {
    console: { sessions: new ConsoleSessionRepository(temp.db, LIMITS), sessionMaxAgeMs: LIMITS.maxAgeMs, assets: options.assets ?? assets },
    trustProxy: options.trustProxy ?? ['loopback'],
  });
}

/** `name=value` of each Set-Cookie header, for the next request's Cookie header. */
const cookiesOf = (res: request.Response): string[] => ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).map((cookie) => cookie.split(';')[0]);
const setCookie = (res: request.Response, name: string) => ((res.headers['set-cookie'] as unknown as string[] | undefined) ?? []).find((cookie) => cookie.startsWith(`${name}=`));

/** A CSRF token and its cookie half, bound to the session the cookies carry (or to none). */
async function csrf(app: Express, cookies: string[] = []): Promise<{ token: string; cookies: string[] }> {
  const res = await request(app).get('/console/csrf-token').set('Cookie', cookies).expect(200);
  const fresh = cookiesOf(res);
  const kept = cookies.filter((cookie) => !fresh.some((set) => set.split('=')[0] === cookie.split('=')[0]));
  return { token: res.body.token, cookies: [...kept, ...fresh] };
}

/** Logs in as the console does; returns the cookies (session + CSRF) and a CSRF token for them. */
async function login(app: Express): Promise<{ cookies: string[]; token: string }> {
  const before = await csrf(app);
  const res = await request(app).post('/console/login').set('Cookie', before.cookies).set('X-CSRF-Token', before.token).send({ token: TOKEN }).expect(204);
  const session = cookiesOf(res);
  return csrf(app, [...before.cookies, ...session]);
}

beforeAll(async () => {
  temp = await temporaryDatabase();
  assets = findConsoleAssets();
});
afterAll(() => temp.drop());

describe('without a session', () => {
  test('the console redirects to the login page; only the login page and its own files are served', async () => {
    const app = consoleApp();
    await request(app).get('/console/').expect(303).expect('Location', '/console/login');
    await request(app).get('/console').expect(303).expect('Location', '/console/login');
    const page = await request(app).get('/console/login').expect(200).expect('Content-Type', /html/);
    const loginFiles = [...page.text.matchAll(/(?:src|href)="\/console\/(assets\/[^"]+)"/g)].map(([, file]) => file);
    expect(loginFiles.length).toBeGreaterThan(0);
    for (const file of loginFiles) await request(app).get(`/console/${file}`).expect(200);
    const consoleOnly = readdirSync(path.join(assets.dir, 'assets')).filter((file) => !assets.publicFiles.has(`assets/${file}`));
    expect(consoleOnly.length).toBeGreaterThan(0);
    for (const file of consoleOnly) await request(app).get(`/console/assets/${file}`).expect(401);
    await request(app).get('/console/index.html').expect(401);
  });

  test('the API under /console/api is refused with 401', async () => {
    const app = consoleApp();
    await request(app).get('/console/api/servers').expect(401);
    await request(app).get('/console/api/servers').set('Cookie', 'mailbeacon_console_session=made-up').expect(401);
  });
});

describe('login', () => {
  test('a wrong token is refused with a clear message; the right one starts a session with a strict cookie', async () => {
    const app = consoleApp();
    const { token, cookies } = await csrf(app);
    const wrong = await request(app).post('/console/login').set('Cookie', cookies).set('X-CSRF-Token', token).send({ token: `${TOKEN}x` }).expect(401);
    expect(wrong.body.error).toMatch(/^That is not the admin token/);
    expect(setCookie(wrong, 'mailbeacon_console_session')).toBeUndefined();

    const right = await request(app).post('/console/login').set('Cookie', cookies).set('X-CSRF-Token', token).send({ token: TOKEN }).expect(204);
    const cookie = setCookie(right, 'mailbeacon_console_session')!;
    expect(cookie).toMatch(/^mailbeacon_console_session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/console; Expires=[^;]+; HttpOnly; SameSite=Strict$/);
    await request(app).get('/console/').set('Cookie', cookiesOf(right)).expect(200).expect('Content-Type', /html/);
    await request(app).get('/console/login').set('Cookie', cookiesOf(right)).expect(303).expect('Location', '/console/');
  });

  test('login CSRF: a login without the token (a form another site posts) is refused', async () => {
    const app = consoleApp();
    const res = await request(app).post('/console/login').send({ token: TOKEN }).expect(403);
    expect(res.body.error).toMatch(/CSRF token/);
    expect(setCookie(res, 'mailbeacon_console_session')).toBeUndefined();
    const form = await request(app).post('/console/login').type('form').send({ token: TOKEN }).expect(403);
    expect(setCookie(form, 'mailbeacon_console_session')).toBeUndefined();
  });

  test('the cookies are Secure when the request came over https through a trusted proxy, not otherwise', async () => {
    for (const [trustProxy, secure] of [[['loopback'], true], [false, false]] as const) {
      const app = consoleApp({ trustProxy });
      const first = await request(app).get('/console/csrf-token').set('X-Forwarded-Proto', 'https').expect(200);
      const res = await request(app)
        .post('/console/login')
        .set('X-Forwarded-Proto', 'https')
        .set('Cookie', cookiesOf(first))
        .set('X-CSRF-Token', first.body.token)
        .send({ token: TOKEN })
        .expect(204);
      expect(/; Secure/.test(setCookie(res, 'mailbeacon_console_session')!)).toBe(secure);
      expect(/; Secure/.test(setCookie(first, 'mailbeacon_console_csrf')!)).toBe(secure);
    }
  });

  test(`repeated failures are slowed: after ${LOGIN_ATTEMPTS} wrong tokens even the right one waits`, async () => {
    const app = consoleApp();
    const { token, cookies } = await csrf(app);
    const attempt = (admin: string) => request(app).post('/console/login').set('Cookie', cookies).set('X-CSRF-Token', token).send({ token: admin });
    for (let i = 0; i < LOGIN_ATTEMPTS; i++) await attempt('wrong-token-wrong-token').expect(401);
    const refused = await attempt(TOKEN).expect(429);
    expect(refused.body.error).toMatch(/^too many failed authentications from your address: wait 15 minutes/);
    expect(setCookie(refused, 'mailbeacon_console_session')).toBeUndefined();
  });
});

describe('guessing the admin token through the API', () => {
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  test(`after ${LOGIN_ATTEMPTS} wrong bearer tokens even the right one waits; each refusal is logged, never the guess`, async () => {
    const { logger, records } = capturingLogger('debug');
    const app = adminAppOver(temp.db, TOKEN, logger);
    for (let i = 0; i < LOGIN_ATTEMPTS; i++) await request(app).get(i % 2 ? '/servers' : '/domains').set(bearer(`guess-number-${i}-of-the-token`)).expect(401);
    const refused = await request(app).get('/servers').set(bearer(TOKEN)).expect(429);
    expect(refused.body.error).toMatch(/^too many failed authentications from your address: wait 15 minutes/);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    const refusals = records.filter((record) => record.msg === 'API authentication refused: wrong admin token');
    expect(refusals).toHaveLength(LOGIN_ATTEMPTS);
    expect(refusals[0]).toMatchObject({ level: 40, ip: expect.any(String), path: '/domains' });
    expect(records).toContainEqual(expect.objectContaining({ msg: 'authentication refused: too many failed attempts from this address', path: '/servers' }));
    expect(JSON.stringify(records)).not.toMatch(/guess-number/);
  });

  test('unknown API keys count too, and so do wrong tokens at the login: one count per address', async () => {
    const app = consoleApp();
    const { token, cookies } = await csrf(app);
    const half = LOGIN_ATTEMPTS / 2;
    for (let i = 0; i < half; i++) await request(app).post('/console/login').set('Cookie', cookies).set('X-CSRF-Token', token).send({ token: `wrong-${i}` }).expect(401);
    for (let i = 0; i < half; i++) await request(app).get('/console/api/servers').set(bearer(`mbk_not-a-key-${i}`)).expect(401);
    await request(app).get('/servers').set(bearer(TOKEN)).expect(429);
    await request(app).post('/console/login').set('Cookie', cookies).set('X-CSRF-Token', token).send({ token: TOKEN }).expect(429);
  });

  test('addresses are counted apart (behind a trusted proxy, by X-Forwarded-For)', async () => {
    const app = consoleApp({ trustProxy: ['loopback'] });
    for (let i = 0; i < LOGIN_ATTEMPTS; i++) await request(app).get('/servers').set('X-Forwarded-For', '198.51.100.7').set(bearer(`wrong-${i}`)).expect(401);
    await request(app).get('/servers').set('X-Forwarded-For', '198.51.100.7').set(bearer(TOKEN)).expect(429);
    await request(app).get('/servers').set('X-Forwarded-For', '198.51.100.8').set(bearer(TOKEN)).expect(200);
  });

  test('successful requests, refusals that guess nothing (no credential, 404, 400) and a session\'s requests do not count', async () => {
    const app = consoleApp();
    const session = await login(app);
    for (let i = 0; i < LOGIN_ATTEMPTS + 2; i++) {
      await request(app).get('/servers').set(bearer(TOKEN)).expect(200);
      await request(app).get('/domains/nothing.example').set(bearer(TOKEN)).expect(404);
      await request(app).post('/servers').set(bearer(TOKEN)).send({}).expect(400);
      await request(app).get('/servers').expect(401);
      await request(app).get('/console/api/servers').set('Cookie', session.cookies).expect(200);
    }
    // A session keeps working while its address is locked out for guessing.
    for (let i = 0; i < LOGIN_ATTEMPTS; i++) await request(app).get('/servers').set(bearer(`wrong-${i}`)).expect(401);
    await request(app).get('/servers').set(bearer(TOKEN)).expect(429);
    await request(app).get('/console/api/servers').set('Cookie', session.cookies).expect(200);
  });
});

describe('with a session', () => {
  test('the API answers; a state change needs the CSRF token, and without it changes nothing', async () => {
    const app = consoleApp();
    const session = await login(app);
    await request(app).get('/console/api/servers').set('Cookie', session.cookies).expect(200);
    const before = (await request(app).get('/console/api/servers').set('Cookie', session.cookies)).body.servers.length;

    const forged = await request(app).post('/console/api/servers').set('Cookie', session.cookies).send({ name: 'Forged' }).expect(403);
    expect(forged.body).toEqual({ error: 'missing or invalid CSRF token: reload the console page and try again' });
    await request(app).post('/console/api/servers').set('Cookie', session.cookies).set('X-CSRF-Token', 'a-guess').send({ name: 'Forged' }).expect(403);
    await request(app).post('/console/api/servers').set('Cookie', session.cookies).type('form').send({ name: 'Forged' }).expect(403);
    expect((await request(app).get('/console/api/servers').set('Cookie', session.cookies)).body.servers).toHaveLength(before);

    await request(app).post('/console/api/servers').set('Cookie', session.cookies).set('X-CSRF-Token', session.token).send({ name: 'Console' }).expect(201);
  });

  test('a token made for no session (or another session) is refused', async () => {
    const app = consoleApp();
    const anonymous = await csrf(app);
    const session = await login(app);
    const sessionCookie = session.cookies.filter((cookie) => cookie.startsWith('mailbeacon_console_session='));
    await request(app)
      .post('/console/api/servers')
      .set('Cookie', [...sessionCookie, ...anonymous.cookies.filter((cookie) => !cookie.startsWith('mailbeacon_console_session='))])
      .set('X-CSRF-Token', anonymous.token)
      .send({ name: 'Stale' })
      .expect(403);
  });

  test('logout ends the session: the old cookie no longer works', async () => {
    const app = consoleApp();
    const session = await login(app);
    const res = await request(app).post('/console/logout').set('Cookie', session.cookies).set('X-CSRF-Token', session.token).expect(204);
    expect(setCookie(res, 'mailbeacon_console_session')).toMatch(/^mailbeacon_console_session=; Path=\/console; Expires=Thu, 01 Jan 1970/);
    await request(app).get('/console/api/servers').set('Cookie', session.cookies).expect(401);
    await request(app).get('/console/').set('Cookie', session.cookies).expect(303);
  });

  test('a restart of the admin process keeps sessions (they live in PostgreSQL)', async () => {
    const session = await login(consoleApp());
    await request(consoleApp()).get('/console/api/servers').set('Cookie', session.cookies).expect(200);
  });
});

describe('security headers', () => {
  const expectConsoleHeaders = (res: request.Response, what: string) => {
    expect({ what, csp: res.headers['content-security-policy'], nosniff: res.headers['x-content-type-options'], referrer: res.headers['referrer-policy'] }).toEqual({
      what,
      csp: "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
      nosniff: 'nosniff',
      referrer: 'no-referrer',
    });
  };

  test('every console response carries the CSP, nosniff and no-referrer: pages, files, API answers and refusals', async () => {
    const app = consoleApp();
    const loginPage = await request(app).get('/console/login').expect(200);
    expectConsoleHeaders(loginPage, 'login page');
    const file = loginPage.text.match(/src="\/console\/(assets\/[^"]+)"/)![1];
    expectConsoleHeaders(await request(app).get(`/console/${file}`).expect(200), 'login script');
    expectConsoleHeaders(await request(app).get('/console/').expect(303), 'redirect to login');
    expectConsoleHeaders(await request(app).get('/console/api/servers').expect(401), 'API refused');
    expectConsoleHeaders(await request(app).get('/console/csrf-token').expect(200), 'CSRF token');

    const session = await login(app);
    expectConsoleHeaders(await request(app).get('/console/').set('Cookie', session.cookies).expect(200), 'console page');
    expectConsoleHeaders(await request(app).get('/console/api/servers').set('Cookie', session.cookies).expect(200), 'API answer');
    expectConsoleHeaders(await request(app).get('/console/nothing-here').set('Cookie', session.cookies).expect(404), 'not found');
    expectConsoleHeaders(await request(consoleApp({ assets: new Error('not built') })).get('/console/').expect(503), 'console unavailable');
  });
});

describe('bearer-token clients', () => {
  test('are unchanged: no cookie, no CSRF token, at the root and under /console/api', async () => {
    const app = consoleApp();
    await request(app).post('/servers').set('Authorization', `Bearer ${TOKEN}`).send({ name: 'Bearer' }).expect(201);
    await request(app).get('/console/api/servers').set('Authorization', `Bearer ${TOKEN}`).expect(200);
  });

  test('a session cookie does not stand in for a wrong bearer token', async () => {
    const app = consoleApp();
    const session = await login(app);
    await request(app).get('/servers').set('Authorization', 'Bearer wrong').set('Cookie', session.cookies).expect(401);
  });
});

describe('when the console is not built', () => {
  test('findConsoleAssets says what is missing and how to build it', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'console-package-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), '{}');
      expect(() => findConsoleAssets(() => path.join(dir, 'package.json'))).toThrow(ConsoleAssetsMissingError);
      expect(() => findConsoleAssets(() => path.join(dir, 'package.json'))).toThrow(/the console is not built: .*manifest\.json.*missing; run npm run build/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the API keeps working and /console/ answers 503 with the reason', async () => {
    const app = consoleApp({ assets: new ConsoleAssetsMissingError('the console is not built: dist missing') });
    const res = await request(app).get('/console/').expect(503);
    expect(res.text).toBe('the console is unavailable: the console is not built: dist missing');
    await request(app).get('/servers').set('Authorization', `Bearer ${TOKEN}`).expect(200);
  });
});
