import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';

/*
 * Debian's Chromium for the browser tests (playwright-core brings no browser of its own):
 * headless, and quiet, so that it asks no other host for anything.
 */

export const CHROMIUM = '/usr/bin/chromium';

/** Chromium with the tests' flags, and `extraArgs` (e.g. --host-resolver-rules); a clear error when it is not installed. */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: this test drives a real Chromium. .ci/run installs it (apt-get install chromium); install it the same way to run it locally.`);
  const { chromium } = await import('playwright-core'); // loaded by the browser tests only
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
}

/** The sizes every console page must read well at. */
export const CONSOLE_VIEWPORTS = { laptop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;

/** Where the console tests leave their screenshots (git-ignored). */
export const CONSOLE_ARTIFACTS = path.resolve(__dirname, '../../../.artifacts/console');

/** `<name>-laptop.png` and `<name>-phone.png` of the whole page as it is now; the page is left at the laptop size. */
export async function consoleScreenshots(page: Page, name: string): Promise<void> {
  mkdirSync(CONSOLE_ARTIFACTS, { recursive: true });
  await page.evaluate('window.scrollTo(0, 0)'); // else the sticky top bar lands mid-page in a full-page shot
  for (const [size, viewport] of Object.entries(CONSOLE_VIEWPORTS)) {
    await page.setViewportSize(viewport);
    await page.screenshot({ path: path.join(CONSOLE_ARTIFACTS, `${name}-${size}.png`), fullPage: true });
  }
  await page.setViewportSize(CONSOLE_VIEWPORTS.laptop);
}

/** Logs in on the console's login page with the admin token and waits for the first page. */
export async function logInToConsole(page: Page, consoleUrl: string, adminToken: string): Promise<void> {
  await page.goto(consoleUrl);
  await page.getByLabel('Admin token').fill(adminToken);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: 'Servers' }).waitFor();
}

/**
 * Collects what Chromium reports as Content-Security-Policy violations on this page (it logs
 * each as a console error, "Refused to … because it violates the following Content Security
 * Policy directive"), so a test can fail on any: a console page the CSP breaks half works.
 */
export function watchCspViolations(page: Page): string[] {
  const violations: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) violations.push(`${page.url()}: ${message.text()}`);
  });
  return violations;
}
