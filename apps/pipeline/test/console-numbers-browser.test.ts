import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MailbeaconClient, type ReadyConsumer, type ReadyMessage } from '@mailbeacon/client';
import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { BROWSER_AGENT, CONSOLE_VIEWPORTS, consoleScreenshots, launchChromium, logInToConsole, temporaryDatabase, TEST_REDIS_URL, uniquePrefix, watchCspViolations, type TemporaryDatabase } from '@mailbeacon/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { htmlMessage, trackedLinksIn } from '../src/demo';
import type { RunningPipeline } from '../src/pipeline';
import { startTestPipeline, untilPipeline } from './test-pipeline';

/*
 * The console's numbers in a real Chromium, fed by the real pipeline: the rewriter, tracker,
 * aggregator and admin app as child processes (as npm start runs them). A message enqueued
 * with the client comes back rewritten; its pixel is loaded and a link clicked through the
 * tracker (as the proxy passes them on, with a person's browser agent); the aggregator stores
 * them; the numbers page, the message lookup and the API keys are then used as a person does.
 * Screenshots at laptop and phone sizes go to .artifacts/console/ (git-ignored).
 */

const ADMIN_TOKEN = 'console-numbers-admin-token-0123';
const TRACKING_DOMAIN = 'click.numbers.test';
const MESSAGE_ID = '<numbers-1@numbers.test>';
const TAG = 'spring-sale';
const CLICKED_URL = 'https://shop.numbers.test/collections/spring-2026/linen-shirts-and-summer-trousers?utm_source=newsletter&utm_medium=email&utm_campaign=spring-sale';
const OTHER_URL = 'https://numbers.test/unsubscribe';
const PERSON_AGENT = BROWSER_AGENT;
const BOT_AGENT = 'curl/8.5.0';
const TIMEOUT_MS = 180_000;

/**
 * A page's init script (the tests have no DOM types, hence a string): each stats request the page
 * makes is noted in `statsCalls`, with whether React had put anything in #root yet.
 */
const NOTE_STATS_CALLS = `
  window.statsCalls = [];
  const fetchOfPage = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input), location.href);
    if (url.pathname.includes('/stats/')) statsCalls.push({ name: url.pathname.split('/').pop(), rendered: (document.getElementById('root')?.childElementCount ?? 0) > 0 });
    return fetchOfPage(input, init);
  };`;
const statsCalls = (tab: Page) => tab.evaluate(() => (globalThis as unknown as { statsCalls: Array<{ name: string; rendered: boolean }> }).statsCalls);

const HTML = `<!doctype html><html><body><h1>Spring sale</h1>
<p><a href="${CLICKED_URL.replace(/&/g, '&amp;')}">Linen shirts</a></p>
<p><a href="${OTHER_URL}">Unsubscribe</a></p></body></html>`;

describe('the numbers in the console, after a send → open → click through the real pipeline', () => {
  let temp: TemporaryDatabase;
  let redis: ReturnType<typeof uniquePrefix>;
  let dir: string;
  let pipeline: RunningPipeline | undefined;
  let log: string[] = [];
  let trackerUrl: string;
  let adminUrl: string;
  let client: MailbeaconClient | undefined;
  let consumer: ReadyConsumer | undefined;
  let browser: Browser | undefined;
  let page: Page;
  /** Every CSP violation the console's pages cause: none is allowed (see afterEach). */
  let cspViolations: string[] = [];
  let server: string;
  let ready: ReadyMessage;
  let pixel: string;

  const until = <T>(what: string, attempt: () => Promise<T | undefined>) => untilPipeline(what, log, attempt);

  /** A hit on the tracker as the tracking host's proxy passes it on. */
  const hit = (trackingUrl: string, userAgent: string) =>
    fetch(new URL(new URL(trackingUrl).pathname, trackerUrl), { headers: { 'X-Postal-Track-Host': '1', 'User-Agent': userAgent }, redirect: 'manual' });

  const messageRow = () => temp.db.selectFrom('messages').select(['opens', 'clicks']).where('token', '=', ready.messageToken).executeTakeFirst();

  const screenshots = (name: string) => consoleScreenshots(page, name);
  const kpi = (label: string): Locator => page.getByRole('group', { name: label, exact: true }).locator('.kpi-value');
  const numbersUrl = (query = '') => `${adminUrl}/console/#/servers/${server}/numbers${query}`;

  beforeAll(async () => {
    temp = await temporaryDatabase();
    redis = uniquePrefix();
    dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-console-numbers-'));
    server = (await new ServerRepository(temp.db).create('Newsletters')).token;
    await new TrackingDomainRepository(temp.db).add({ host: TRACKING_DOMAIN, server, ssl: false });
    const started = await startTestPipeline({
      databaseUrl: temp.url,
      queuePrefix: redis.prefix,
      dir,
      // A scripted click comes milliseconds after the send: no "early click" rule for it (the rules have their own tests).
      env: { ADMIN_TOKEN, EARLY_CLICK_MS: '0', MAILBEACON_SECRET_FILE: path.join(dir, 'secret') },
    });
    pipeline = started.pipeline;
    log = started.log;
    trackerUrl = `http://127.0.0.1:${started.trackerPort}`;
    adminUrl = `http://127.0.0.1:${started.adminPort}`;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: CONSOLE_VIEWPORTS.laptop })).newPage();
    cspViolations = watchCspViolations(page);
  }, TIMEOUT_MS);

  afterEach(() => {
    expect(cspViolations.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await consumer?.close();
    await client?.close();
    await pipeline?.stop(5000);
    await redis?.cleanup();
    await temp?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, TIMEOUT_MS);

  test(
    'a message is sent, its pixel loaded and a link clicked through the tracker; the aggregator stores them',
    async () => {
      client = new MailbeaconClient({ connection: TEST_REDIS_URL, prefix: redis.prefix });
      const received: ReadyMessage[] = [];
      consumer = await client.consumeReady(async (message) => void received.push(message));
      await client.enqueueMessage({
        messageId: MESSAGE_ID,
        server,
        raw: htmlMessage(Buffer.from(HTML), { from: 'Shop <news@numbers.test>', to: 'reader@example.org', subject: 'Spring sale', messageId: MESSAGE_ID }),
        recipient: 'reader@example.org',
        tag: TAG,
      });
      ready = await until('the rewritten message on outbound-ready', async () => received.find((message) => message.messageId === MESSAGE_ID));
      expect(ready.tracked).toEqual({ links: 2, pixel: true });
      const tracked = trackedLinksIn(Buffer.from(ready.raw), TRACKING_DOMAIN);
      pixel = tracked.pixel!;
      const link = tracked.links.find((candidate) => candidate.destination === CLICKED_URL)!;

      expect((await hit(pixel, PERSON_AGENT)).status).toBe(200);
      const click = await hit(link.url, PERSON_AGENT);
      expect(click.status).toBe(302);
      expect(click.headers.get('location')).toBe(CLICKED_URL);
      await until('the open and the click in messages', async () => {
        const row = await messageRow();
        return row && row.opens === 1 && row.clicks === 1 ? row : undefined;
      });
    },
    TIMEOUT_MS,
  );

  test(
    'log in; the numbers page shows exactly those numbers, the chart, the tag and the clicked URL first; first render measured',
    async () => {
      await logInToConsole(page, `${adminUrl}/console/`, ADMIN_TOKEN);

      // From the top bar: Numbers → the server.
      await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Numbers' }).click();
      await page.getByRole('link', { name: /Newsletters/ }).click();
      await kpi('Messages sent').waitFor();

      // A fresh load of the page, timed from navigation start to the numbers and the chart on screen.
      await page.goto('about:blank');
      await page.goto(numbersUrl('?range=today'));
      await page.locator('.chart canvas').waitFor();
      const firstRenderMs = await page.evaluate(() => performance.getEntriesByName('numbers-rendered')[0]?.startTime);
      expect(firstRenderMs).toBeGreaterThan(0);
      console.log(`console first render (navigation start → numbers and chart): ${Math.round(firstRenderMs!)} ms`);

      expect(await kpi('Messages sent').textContent()).toBe('1');
      expect(await kpi('Unique opens').textContent()).toBe('1');
      expect(await kpi('Unique clicks').textContent()).toBe('1');
      expect(await kpi('Opens').textContent()).toBe('1');
      expect(await kpi('Clicks').textContent()).toBe('1');
      expect(await page.getByRole('group', { name: 'Unique opens', exact: true }).locator('.kpi-detail').textContent()).toBe('100.0% open rate');
      await page.getByRole('button', { name: 'Today', pressed: true }).waitFor();
      await page.getByRole('button', { name: 'People only', pressed: true }).waitFor();
      await page.getByText('per hour, UTC').waitFor();

      const topLink = page.getByRole('table', { name: 'Top links' }).locator('tbody tr').first();
      expect(await topLink.locator('a').getAttribute('title')).toBe(CLICKED_URL);
      expect(await topLink.locator('a').textContent()).toMatch(/^shop\.numbers\.test\/collections\/.*…/); // long: shortened, whole in the title
      expect(await topLink.locator('td.num').allTextContents()).toEqual(['1', '1']);
      const tagRow = page.getByRole('table', { name: 'By tag' }).locator('tbody tr');
      expect(await tagRow.count()).toBe(1);
      expect(await tagRow.locator('th, td').allTextContents()).toEqual([TAG, '1', '100.0%', '100.0%']);
      expect(await page.getByRole('group', { name: 'Machine opens' }).textContent()).toBe('No machine opens.');
      await screenshots('numbers');
    },
    TIMEOUT_MS,
  );

  test(
    "a bot's open: people's numbers stay, its reason is shown; the switch to everything counts it, and the view survives a reload",
    async () => {
      expect((await hit(pixel, BOT_AGENT)).status).toBe(200);
      await until("the bot's open in messages", async () => ((await messageRow())?.opens === 2 ? true : undefined));

      await page.reload();
      const machineOpens = page.getByRole('group', { name: 'Machine opens' });
      await machineOpens.getByText('Bot, crawler or script').waitFor();
      expect(await machineOpens.locator('.machine-share').textContent()).toBe('1 open · 50.0% of all opens');
      expect(await kpi('Opens').textContent()).toBe('1');
      expect(await kpi('Unique opens').textContent()).toBe('1');

      await page.getByRole('button', { name: 'Everything' }).click();
      await kpi('Opens').filter({ hasText: /^2$/ }).waitFor();
      expect(new URL(page.url()).hash).toBe(`#/servers/${server}/numbers?range=today&audience=all`);
      expect(await kpi('Unique opens').textContent()).toBe('1'); // the same message, opened once more
      expect(await kpi('Clicks').textContent()).toBe('1');
      await page.getByText('included in the numbers above').waitFor();

      await page.reload();
      await page.getByRole('button', { name: 'Everything', pressed: true }).waitFor();
      await kpi('Opens').filter({ hasText: /^2$/ }).waitFor();
      await screenshots('numbers-everything');
    },
    TIMEOUT_MS,
  );

  test(
    'the message lookup by the platform id shows the timeline: sent, each open and the click with its link, IP, agent and verdict',
    async () => {
      await page.getByRole('searchbox', { name: 'Message id or token' }).fill(MESSAGE_ID);
      await page.getByRole('button', { name: 'Look up' }).click();
      const timeline = page.getByRole('list', { name: 'Timeline' });
      await timeline.waitFor();
      expect(new URLSearchParams(new URL(page.url()).hash.split('?')[1]).get('message')).toBe(MESSAGE_ID);
      const entries = timeline.locator(':scope > li');
      expect(await entries.locator('.timeline-kind').allTextContents()).toEqual(['Sent', 'Opened', 'Clicked', 'Opened']);
      const [sent, open, click, botOpen] = [0, 1, 2, 3].map((n) => entries.nth(n));
      expect(await sent.locator('.badge').count()).toBe(0);
      expect(await open.locator('.badge').textContent()).toBe('Person');
      expect(await open.getByText(PERSON_AGENT).count()).toBe(1);
      expect(await open.locator('dd').first().textContent()).toMatch(/^127\.0\.0\.0$/); // as stored: truncated by default
      expect(await click.locator('.badge').textContent()).toBe('Person');
      expect(await click.locator('.timeline-link a').getAttribute('href')).toBe(CLICKED_URL);
      expect(await click.locator('.timeline-link').textContent()).toMatch(/^Link \d+: shop\.numbers\.test/);
      expect(await botOpen.locator('.badge').textContent()).toBe('Machine: Bot, crawler or script');
      expect(await botOpen.getByText(BOT_AGENT).count()).toBe(1);
      for (const entry of [sent, open, click, botOpen]) expect(await entry.locator('time').textContent()).toMatch(/\d{2}:\d{2}:\d{2} UTC$/);
      await screenshots('message-lookup');

      await page.getByRole('searchbox', { name: 'Message id or token' }).fill('<nobody@numbers.test>');
      await page.getByRole('button', { name: 'Look up' }).click();
      await page.getByText('This server has no message with the id or token').waitFor();
    },
    TIMEOUT_MS,
  );

  test(
    'a range without mail says so; a custom range comes from the URL into the date inputs',
    async () => {
      await page.goto(numbersUrl('?from=2026-01-01&to=2026-01-07'));
      await page.getByRole('heading', { name: 'No mail in this range' }).waitFor();
      expect(await page.getByLabel('From').inputValue()).toBe('2026-01-01');
      expect(await page.getByLabel('To (included)').inputValue()).toBe('2026-01-07');
      await page.getByRole('button', { name: 'Custom', pressed: true }).waitFor();
      await screenshots('numbers-empty');
      await page.getByRole('button', { name: 'Show 30 days' }).click();
      await kpi('Messages sent').filter({ hasText: /^1$/ }).waitFor();

      // The filters go into the URL too; a tag without mail is an empty range as well.
      await page.getByLabel('Tag', { exact: true }).selectOption(TAG);
      await page.waitForURL((url) => url.hash === `#/servers/${server}/numbers?range=30d&tag=${TAG}`);
      await page.getByLabel('Tracking domain', { exact: true }).selectOption(TRACKING_DOMAIN);
      await page.waitForURL((url) => url.hash.endsWith(`&domain=${TRACKING_DOMAIN}`));
      await kpi('Messages sent').filter({ hasText: /^1$/ }).waitFor();
      await page.goto(numbersUrl('?range=30d&tag=no-such-tag'));
      await page.getByRole('heading', { name: 'No mail in this range' }).waitFor();
      await page.getByRole('button', { name: 'Clear the filters' }).click();
      await kpi('Messages sent').filter({ hasText: /^1$/ }).waitFor();
    },
    TIMEOUT_MS,
  );

  test(
    'numbers the API refuses (a day that does not exist) show why, with a way to try again',
    async () => {
      await page.goto(numbersUrl('?from=2026-02-30&to=2026-03-02'));
      const error = page.getByRole('alert').filter({ hasText: 'The numbers could not be loaded: from must be' });
      await error.waitFor();
      await error.getByRole('button', { name: 'Try again' }).waitFor();
      await screenshots('numbers-error');
    },
    TIMEOUT_MS,
  );

  test(
    'the figures and the chart come first: the tables are asked for only once those have arrived',
    async () => {
      // The tables' requests are held: the top of the page must not wait for them.
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const held: string[] = [];
      await page.route(/\/stats\/(tags|links)\?/, async (route) => {
        held.push(new URL(route.request().url()).pathname.split('/').pop()!);
        await released;
        await route.continue();
      });
      try {
        await page.goto('about:blank');
        await page.goto(numbersUrl('?range=today'));
        await page.getByRole('region', { name: 'Top links' }).getByRole('status').filter({ hasText: 'Loading…' }).waitFor();
        await page.locator('.chart canvas').waitFor();
        expect(await kpi('Messages sent').textContent()).toBe('1');
        expect(await page.evaluate(() => performance.getEntriesByName('numbers-rendered').length)).toBe(1);
        release();
        await page.getByRole('table', { name: 'Top links' }).waitFor();
        await page.getByRole('table', { name: 'By tag' }).waitFor();
        expect(held.sort()).toEqual(['links', 'tags']);
        // Sequential, as the page's own resource timings show: each table request starts after both answers ended.
        const timings = await page.evaluate(() =>
          performance.getEntriesByType('resource').map((entry) => ({ name: new URL(entry.name).pathname.split('/').pop(), start: entry.startTime, end: (entry as unknown as { responseEnd: number }).responseEnd })),
        );
        const of = (name: string) => timings.find((entry) => entry.name === name)!;
        const firstEnded = Math.max(of('summary').end, of('series').end);
        expect(of('tags').start).toBeGreaterThanOrEqual(firstEnded);
        expect(of('links').start).toBeGreaterThanOrEqual(firstEnded);
      } finally {
        release();
        await page.unroute(/\/stats\/(tags|links)\?/);
      }
    },
    TIMEOUT_MS,
  );

  test(
    "the figures' two requests leave before React's first render, once each, and the page adopts their answers",
    async () => {
      // A tab of its own (the same login), whose fetch notes, per stats request, whether React had put anything on screen yet.
      const tab = await page.context().newPage();
      try {
        await tab.addInitScript(NOTE_STATS_CALLS);
        await tab.goto(numbersUrl('?range=7d'));
        await tab.getByRole('table', { name: 'Top links' }).waitFor();
        await tab.locator('.chart canvas').waitFor();
        expect(await tab.getByRole('group', { name: 'Messages sent', exact: true }).locator('.kpi-value').textContent()).toBe('1');
        const calls = await statsCalls(tab);
        expect(calls.filter((call) => call.name === 'summary' || call.name === 'series').sort((a, b) => a.name.localeCompare(b.name))).toEqual([
          { name: 'series', rendered: false },
          { name: 'summary', rendered: false },
        ]);
        expect(calls.map((call) => call.name).sort()).toEqual(['links', 'series', 'summary', 'tags']);

        // Another view, then back: asked afresh (the prefetch answered the first view only).
        await tab.getByRole('button', { name: 'Today', exact: true }).click();
        await tab.waitForFunction((count) => (globalThis as unknown as { statsCalls: unknown[] }).statsCalls.length === count, 8);
        await tab.goBack();
        await tab.waitForFunction((count) => (globalThis as unknown as { statsCalls: unknown[] }).statsCalls.length === count, 12);
        const later = (await statsCalls(tab)).slice(4);
        expect(later.every((call) => call.rendered)).toBe(true);
      } finally {
        await tab.close();
      }
    },
    TIMEOUT_MS,
  );

  test(
    "create an API key on the server page: shown once, it reads the server's summary; revoked after confirming, it is refused",
    async () => {
      await page.goto(`${adminUrl}/console/#/servers/${server}`);
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      await page.getByLabel('Who holds it').fill('Acme dashboard');
      await page.getByRole('button', { name: 'Create API key' }).click();
      const shown = page.getByRole('region', { name: 'The new API key' });
      await shown.getByText('you will not see it again').waitFor();
      const key = await shown.getByLabel('API key').inputValue();
      expect(key).toMatch(/^mbk_/);
      const row = page.getByRole('row', { name: `API key ${key.slice(0, 12)}` });
      await row.getByText('Active').waitFor();
      expect(await row.locator('th').textContent()).toBe('Acme dashboard');
      await screenshots('keys-created');

      const summary = () => fetch(`${adminUrl}/servers/${server}/stats/summary?range=today`, { headers: { Authorization: `Bearer ${key}` } });
      const allowed = await summary();
      expect(allowed.status).toBe(200);
      expect(await allowed.json()).toMatchObject({ server, messages: 1, uniqueOpens: 1, uniqueClicks: 1 });

      await row.getByRole('button', { name: 'Revoke' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByText('loses access to this server').waitFor();
      await dialog.getByRole('button', { name: 'Revoke API key' }).click();
      await row.getByText(/^Revoked /).waitFor();
      expect(await shown.count()).toBe(0); // the revoked key is no longer on screen
      expect(await row.getByRole('button', { name: 'Revoke' }).count()).toBe(0);
      const refused = await summary();
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual({ error: `API key ${key.slice(0, 12)}… was revoked` });
      await screenshots('keys');
    },
    TIMEOUT_MS,
  );
});
