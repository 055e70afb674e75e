import http from 'node:http';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import {
  capturingLogger,
  closeServer,
  consoleScreenshots,
  CONSOLE_VIEWPORTS,
  freePort,
  launchChromium,
  listenOnLoopback,
  temporaryDatabase,
  trackingHostStandIn,
  type TemporaryDatabase,
  type TrackingHostStandIn,
  watchCspViolations,
} from '@mailbeacon/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { loadAdminConfig } from '../src/config';
import { startAdmin, type RunningAdmin } from '../src/main';

/*
 * The console in a real Chromium against the real admin app (in this process), PostgreSQL
 * and the real domain check, aimed through the console's own "proxy not in DNS yet" fields
 * at local stand-ins: one that answers `Hello.` (a proxy adding X-Postal-Track-Host), and
 * the bare tracker behind it, which does not. Screenshots of each page, at laptop and phone
 * sizes, go to .artifacts/console/ (git-ignored).
 */

const TOKEN = 'console-browser-admin-token-0123';
const HOST = 'click.console.test';
const TIMEOUT_MS = 120_000;

let temp: TemporaryDatabase;
let admin: RunningAdmin;
let standIn: TrackingHostStandIn;
let browser: Browser;
let context: BrowserContext;
let page: Page;
/** Every CSP violation the console's pages cause: none is allowed (see afterEach). */
let cspViolations: string[];

const screenshots = (name: string) => consoleScreenshots(page, name);

const domainCard = () => page.getByRole('listitem', { name: HOST });

beforeAll(async () => {
  temp = await temporaryDatabase();
  standIn = await trackingHostStandIn();
  const config = loadAdminConfig({ ADMIN_TOKEN: TOKEN, ADMIN_PORT: String(await freePort()), DATABASE_URL: temp.url, LOG_LEVEL: 'warn' });
  admin = await startAdmin(config, { logger: capturingLogger('warn').logger as never });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: CONSOLE_VIEWPORTS.laptop });
  page = await context.newPage();
  cspViolations = watchCspViolations(page);
}, TIMEOUT_MS);

afterEach(() => {
  expect(cspViolations.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close().catch(() => undefined);
  await admin?.close();
  await standIn?.close();
  await temp?.drop();
}, TIMEOUT_MS);

describe('the console in Chromium', () => {
  test('without a session: the console goes to the login page, the API refuses', async () => {
    await page.goto(admin.consoleUrl);
    expect(new URL(page.url()).pathname).toBe('/console/login');
    await page.getByRole('heading', { name: 'Log in to the console' }).waitFor();
    const api = await page.request.get(`${admin.url}/console/api/servers`);
    expect(api.status()).toBe(401);
    await screenshots('login');
  });

  test('log in: a wrong token is refused beside the field, the right one opens the console', async () => {
    await page.getByLabel('Admin token').fill('not-the-admin-token');
    await page.getByRole('button', { name: 'Log in' }).click();
    const error = page.getByText('That is not the admin token');
    await error.waitFor();
    expect(await page.getByLabel('Admin token').getAttribute('aria-invalid')).toBe('true');
    await screenshots('login-wrong-token');

    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Servers' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/');
    const cookie = (await context.cookies()).find((candidate) => candidate.name === 'mailbeacon_console_session');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/console' });
  });

  test('add a server and rename it', async () => {
    await page.getByLabel('Name').fill('Newsletters');
    await page.getByRole('button', { name: 'Add server' }).click();
    await page.getByRole('heading', { name: 'Newsletters' }).waitFor();
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByLabel('New name').fill('Newsletters EU');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.getByRole('heading', { name: 'Newsletters EU' }).waitFor();
    expect((await new ServerRepository(temp.db).list()).map((server) => server.name)).toEqual(['Newsletters EU']);
    await screenshots('server-empty');
  });

  test('add a tracking domain: an invalid host is explained beside the field; SSL off shows the warning; then it is listed', async () => {
    await page.getByRole('link', { name: 'Add a tracking domain' }).click();
    await page.getByRole('heading', { name: 'Add a tracking domain' }).waitFor();
    await page.getByLabel('Host').fill('10.0.0.1');
    await page.getByRole('button', { name: 'Add tracking domain' }).click();
    const hostError = page.locator('.field-invalid').filter({ has: page.getByLabel('Host') }).locator('.field-error');
    await hostError.waitFor();
    expect(await hostError.textContent()).toMatch(/^Must be a domain name such as click\.example\.com, not an IP address/);
    await screenshots('domain-invalid-host');

    await page.getByLabel('Host').fill(HOST);
    // Corrected, the host no longer shows the error of the address it held.
    await hostError.waitFor({ state: 'detached' });
    expect(await page.getByLabel('Host').getAttribute('aria-invalid')).not.toBe('true');
    await page.getByLabel('Use SSL (https links)').uncheck();
    await page.getByText('It is highly recommended that you use SSL for these connections.').waitFor();
    await page.getByLabel('Excluded link domains').fill('example.org');
    await screenshots('domain-add-ssl-off');
    await page.getByRole('button', { name: 'Add tracking domain' }).click();
    await domainCard().waitFor();
    expect(await domainCard().getByText('Never checked').count()).toBe(1);
    expect(await new TrackingDomainRepository(temp.db).findByHost(HOST)).toMatchObject({ ssl: false, excludedDomains: ['example.org'] });
  });

  test('Check shows each step and what to fix: NOT ready without Hello., ready with it', async () => {
    await domainCard().getByRole('button', { name: 'Check' }).click();
    const panel = page.getByRole('region', { name: `Check of ${HOST}` });
    await panel.locator('.check-result').waitFor(); // the first check follows DNS, which knows nothing of this host
    await panel.getByText('Check through a proxy that is not in DNS yet').click();

    // The bare tracker: it answers 404 without X-Postal-Track-Host.
    await panel.getByLabel('Proxy address').fill('127.0.0.1');
    await panel.getByLabel('Port').fill(String(standIn.trackerPort));
    await panel.getByRole('button', { name: 'Check again' }).click();
    await panel.getByText(`${HOST} is NOT ready`).waitFor();
    expect(await panel.locator('.advice li').count()).toBeGreaterThan(0);
    await domainCard().getByText('Failing').waitFor();
    await screenshots('domain-check-failed');

    // Through the proxy that adds the header: Hello.
    await panel.getByLabel('Port').fill(String(standIn.proxyPort));
    await panel.getByRole('button', { name: 'Check again' }).click();
    await panel.getByText(`${HOST} is ready for tracking`).waitFor();
    await panel.getByText(`→ 200 "Hello."`).waitFor();
    await domainCard().getByText('Verified').waitFor();
    await screenshots('domain-check-ok');
  });

  test('edit the excluded domains', async () => {
    await domainCard().getByRole('link', { name: 'Edit' }).click();
    await page.getByRole('heading', { name: `Edit ${HOST}` }).waitFor();
    await page.getByLabel('Excluded link domains').fill('example.org\nexample.net');
    await screenshots('domain-edit');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await domainCard().getByText('Not tracked: example.org, example.net').waitFor();
    expect((await new TrackingDomainRepository(temp.db).findByHost(HOST))?.excludedDomains).toEqual(['example.org', 'example.net']);
    await screenshots('server-with-domain');
  });

  test('deleting the server is refused while it has the domain, saying so', async () => {
    await page.getByRole('button', { name: 'Delete server' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Delete server' }).click();
    await dialog.getByText(`still has tracking domains (${HOST}): remove them first`).waitFor();
    await screenshots('server-delete-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await new ServerRepository(temp.db).list()).toHaveLength(1);
  });

  test('remove the domain after confirming, then delete the server', async () => {
    await domainCard().getByRole('button', { name: 'Remove' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Links in mail already sent keep working.').waitFor();
    await screenshots('domain-remove-confirm');
    await dialog.getByRole('button', { name: 'Remove tracking domain' }).click();
    await page.getByText('No tracking domain yet').waitFor();
    expect(await new TrackingDomainRepository(temp.db).findByHost(HOST)).toBeUndefined();

    await page.getByRole('button', { name: 'Delete server' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete server' }).click();
    await page.getByText('No servers yet').waitFor();
    expect(await new ServerRepository(temp.db).list()).toEqual([]);
    await page.getByLabel('Name').fill('Receipts');
    await page.getByRole('button', { name: 'Add server' }).click();
    await page.getByRole('heading', { name: 'Receipts' }).waitFor();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Servers' }).click();
    await page.getByRole('link', { name: /Receipts/ }).waitFor();
    await screenshots('servers');
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Numbers' }).click();
    await page.getByRole('heading', { name: 'Numbers' }).waitFor();
    await screenshots('numbers');
  });

  test('a form another site posts to the console API is refused and changes nothing', async () => {
    const evil = http.createServer((_req, res) => {
      res.setHeader('Content-Type', 'text/html');
      res.end(`<form method="post" action="${admin.url}/console/api/servers"><input name="name" value="Forged"></form><script>document.forms[0].submit()</script>`);
    });
    const port = await listenOnLoopback(evil);
    try {
      // localhost and 127.0.0.1 are different sites: the browser treats this page as another site's.
      const answer = page.waitForResponse((res) => res.url() === `${admin.url}/console/api/servers` && res.request().method() === 'POST');
      await page.goto(`http://localhost:${port}/`);
      expect((await answer).status()).toBeGreaterThanOrEqual(400);
      expect((await new ServerRepository(temp.db).list()).map((server) => server.name)).toEqual(['Receipts']);
    } finally {
      await closeServer(evil);
    }
  });

  test('a malformed fragment shows the not-found page, with the navigation intact', async () => {
    await page.goto(`${admin.consoleUrl}#/servers/%E0%A4%A`);
    await page.getByText('Nothing here.').waitFor();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Servers' }).click();
    await page.getByRole('heading', { name: 'Servers' }).waitFor();
  });

  test('the CSP is enforced and its violations are seen: an injected inline script does not run', async () => {
    // Proves the watcher the other tests rely on (afterEach) does report violations.
    const reported = page.waitForEvent('console', { predicate: (message) => /Content Security Policy/.test(message.text()) });
    const ran = await page.evaluate(
      `(() => { const script = document.createElement('script'); script.textContent = 'window.injected = true'; document.body.append(script); return window.injected === true; })()`,
    );
    expect(ran).toBe(false);
    await reported;
    expect(cspViolations.splice(0).join('\n')).toMatch(/script-src|default-src/);
  });

  test('logout ends the session: the old cookie no longer works', async () => {
    await page.goto(admin.consoleUrl);
    await page.getByRole('heading', { name: 'Servers' }).waitFor();
    const before = await context.cookies();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in to the console' }).waitFor();

    const replay = await browser.newContext();
    try {
      await replay.addCookies(before);
      const api = await replay.request.get(`${admin.url}/console/api/servers`);
      expect(api.status()).toBe(401);
      const again = await replay.newPage();
      await again.goto(admin.consoleUrl);
      expect(new URL(again.url()).pathname).toBe('/console/login');
    } finally {
      await replay.close();
    }
  });
});
