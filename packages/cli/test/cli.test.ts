import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { keyRing } from '@mailbeacon/links';
import { runCli } from '../src/main';

const env = { MAILBEACON_SECRET: 'cli-test-secret-0123456789' };
const MESSAGE = Buffer.from(
  'From: news@example.com\r\nTo: r@example.net\r\nSubject: Hi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n' +
    '--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nShop: https://shop.example/a. Blog: https://blog.example.org/p\r\n' +
    '--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><a href="https://shop.example/a">Shop</a></body></html>\r\n--b--\r\n',
);
const run = (args: string[], stdin = MESSAGE, environment: NodeJS.ProcessEnv = env, checkoutRoot?: string | null) =>
  runCli({ args, env: environment, readStdin: async () => stdin, checkoutRoot });
const trackingUrls = (text: string): string[] => text.match(/https?:\/\/click\.example\.com\/c\/[A-Za-z0-9_\-/]+/g) ?? [];

describe('mailbeacon rewrite', () => {
  test('prints the tracked message; its links resolve to the originals', async () => {
    const out = await run(['rewrite', '--tracking-domain', 'click.example.com', '--server', 'srv1']);
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const text = out.stdout.toString();
    const urls = trackingUrls(text);
    expect(urls).toHaveLength(3);
    expect(text).toContain('/o/');
    const resolved = await run(['resolve', ...urls]);
    expect(resolved).toEqual({ code: 0, stderr: '', stdout: 'https://shop.example/a\nhttps://blog.example.org/p\nhttps://shop.example/a\n' });
  });

  test('flags: --http, --no-clicks, --no-opens, --exclude', async () => {
    const http = (await run(['rewrite', '--tracking-domain', 'click.example.com', '--http', '--no-opens', '--exclude', 'example.org'])).stdout.toString();
    expect(trackingUrls(http).every((u) => u.startsWith('http://'))).toBe(true);
    expect(http).toContain('Blog: https://blog.example.org/p');
    expect(http).not.toContain('/o/');
    const none = await run(['rewrite', '--tracking-domain', 'click.example.com', '--no-clicks', '--no-opens']);
    expect(none.stdout.toString()).toBe(MESSAGE.toString());
  });

  test('the reason goes to stderr when the message is left untracked', async () => {
    const skip = Buffer.from(MESSAGE.toString().replace('Subject: Hi\r\n', 'Subject: Hi\r\nX-AMP: skip\r\n'));
    const out = await run(['rewrite', '--tracking-domain', 'click.example.com'], skip);
    expect(out.stdout.toString()).toBe(MESSAGE.toString());
    expect(out.stderr).toMatch(/^untracked: x-amp-skip/);
  });

  test('warns loudly without MAILBEACON_SECRET, and still works', async () => {
    const out = await run(['rewrite', '--tracking-domain', 'click.example.com'], MESSAGE, {}, null);
    expect(out.code).toBe(0);
    expect(out.stderr).toMatch(/MAILBEACON_SECRET is not set/);
  });


  test('usage errors exit 2 with the usage', async () => {
    expect(await run(['rewrite'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--tracking-domain HOST is required') });
    expect(await run(['rewrite', '--tracking-domain', 'c.example.com', '--bogus'])).toMatchObject({ code: 2 });
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command') });
    expect(await run(['resolve'])).toMatchObject({ code: 2 });
  });

  test('a bad tracking domain is an error, not a silently untracked message', async () => {
    expect(await run(['rewrite', '--tracking-domain', 'not a host'])).toMatchObject({ code: 1, stderr: expect.stringContaining('trackingDomain') });
  });
});

describe('mailbeacon resolve', () => {
  test('one line per URL; invalid ones say why and set exit status 1', async () => {
    const [good] = trackingUrls((await run(['rewrite', '--tracking-domain', 'click.example.com'])).stdout.toString());
    const tampered = good.replace(/\/[^/]+$/, '/AAAAAAAAAAAAAAAAAAAAAA');
    const out = await run(['resolve', good, tampered, 'https://evil.example/']);
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('https://shop.example/a\ninvalid bad signature\ninvalid not a click link\n');
  });

  test('a link signed with a rotated-out key resolves via MAILBEACON_PREVIOUS_SECRETS', async () => {
    const [good] = trackingUrls((await run(['rewrite', '--tracking-domain', 'click.example.com'])).stdout.toString());
    const rotated = { MAILBEACON_SECRET: 'a-brand-new-secret-0123456', MAILBEACON_PREVIOUS_SECRETS: env.MAILBEACON_SECRET };
    expect((await run(['resolve', good], MESSAGE, rotated)).stdout).toBe('https://shop.example/a\n');
    expect((await run(['resolve', good], MESSAGE, { MAILBEACON_SECRET: rotated.MAILBEACON_SECRET })).stdout).toBe('invalid unknown signing key\n');
  });
});

describe('the signing key of the checkout (var/mailbeacon.secret, made by npm start)', () => {
  const SECRET = 'the-checkout-key-0123456789';
  let checkout: string;
  beforeAll(() => {
    checkout = mkdtempSync(path.join(tmpdir(), 'mailbeacon-cli-'));
    mkdirSync(path.join(checkout, 'var'));
    writeFileSync(path.join(checkout, 'var', 'mailbeacon.secret'), `${SECRET}\n`);
  });
  afterAll(() => rmSync(checkout, { recursive: true, force: true }));

  test('without MAILBEACON_SECRET, rewrite and resolve sign and verify with it, as the apps do, and say where the key came from', async () => {
    const keyFile = path.join(checkout, 'var', 'mailbeacon.secret');
    const said = `signing key ${keyRing(SECRET).current.id} from ${keyFile} (the checkout's key, made by npm start; set MAILBEACON_SECRET in production)\n`;
    const rewritten = await run(['rewrite', '--tracking-domain', 'click.example.com'], MESSAGE, {}, checkout);
    expect(rewritten.stderr).toBe(said);
    const [url] = trackingUrls(rewritten.stdout.toString());
    expect(url).toContain(`/c/${keyRing(SECRET).current.id}/`);
    expect(await run(['resolve', url], MESSAGE, {}, checkout)).toEqual({ code: 0, stderr: said, stdout: 'https://shop.example/a\n' });
    // An app given the same secret (npm start's children read the same file) agrees.
    expect((await run(['resolve', url], MESSAGE, { MAILBEACON_SECRET: SECRET }, null)).stdout).toBe('https://shop.example/a\n');
  });

  test('a bad key file is bad configuration (exit 78), naming it; nothing is signed with another key', async () => {
    const bad = mkdtempSync(path.join(tmpdir(), 'mailbeacon-cli-bad-'));
    try {
      mkdirSync(path.join(bad, 'var'));
      writeFileSync(path.join(bad, 'var', 'mailbeacon.secret'), 'short\n');
      const out = await run(['rewrite', '--tracking-domain', 'click.example.com'], MESSAGE, {}, bad);
      expect(out).toEqual({ code: 78, stdout: '', stderr: `mailbeacon: bad configuration:\nMAILBEACON_SECRET_FILE: ${path.join(bad, 'var', 'mailbeacon.secret')} must hold a secret of at least 16 characters (got 5 characters)\n` });
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe('the installed command', () => {
  const bin = path.resolve(__dirname, '../../../node_modules/.bin/mailbeacon');
  test('npm installs `mailbeacon` into node_modules/.bin and it runs the built CLI', async () => {
    expect(existsSync(bin)).toBe(true);
    const { stdout } = await promisify(execFile)(bin, ['resolve', 'https://x.example/'], { env: { ...process.env, ...env } }).catch((e) => e);
    expect(stdout).toBe('invalid not a click link\n');
  });

  test('run from any directory, it finds the key file relative to the checkout, not to the working directory', async () => {
    const root = path.resolve(__dirname, '../../..');
    const dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-cli-key-'));
    try {
      const SECRET = 'a-key-file-for-the-installed-command';
      writeFileSync(path.join(dir, 'secret'), SECRET);
      const [url] = trackingUrls((await run(['rewrite', '--tracking-domain', 'click.example.com'], MESSAGE, { MAILBEACON_SECRET: SECRET })).stdout.toString());
      // A relative MAILBEACON_SECRET_FILE, as npm start's default var/mailbeacon.secret is.
      const keyEnv = { PATH: process.env.PATH, MAILBEACON_SECRET_FILE: path.relative(root, path.join(dir, 'secret')) };
      for (const cwd of [path.join(root, 'apps', 'tracker'), dir]) {
        const { stdout, stderr } = await promisify(execFile)(bin, ['resolve', url], { env: keyEnv, cwd });
        expect(stdout).toBe('https://shop.example/a\n');
        expect(stderr).toBe(`signing key ${keyRing(SECRET).current.id} from ${path.join(dir, 'secret')} (MAILBEACON_SECRET_FILE)\n`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
