import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../src/main';

const env = { MAILBEACON_SECRET: 'cli-test-secret-0123456789' };
const MESSAGE = Buffer.from(
  'From: news@example.com\r\nTo: r@example.net\r\nSubject: Hi\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n' +
    '--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nShop: https://shop.example/a. Blog: https://blog.example.org/p\r\n' +
    '--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><a href="https://shop.example/a">Shop</a></body></html>\r\n--b--\r\n',
);
const run = (args: string[], stdin = MESSAGE, environment: NodeJS.ProcessEnv = env) => runCli({ args, env: environment, readStdin: async () => stdin });
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
    const out = await run(['rewrite', '--tracking-domain', 'click.example.com'], MESSAGE, {});
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

describe('the installed command', () => {
  const bin = path.resolve(__dirname, '../../../node_modules/.bin/mailbeacon');
  test('npm installs `mailbeacon` into node_modules/.bin and it runs the built CLI', async () => {
    expect(existsSync(bin)).toBe(true);
    const { stdout } = await promisify(execFile)(bin, ['resolve', 'https://x.example/'], { env: { ...process.env, ...env } }).catch((e) => e);
    expect(stdout).toBe('invalid not a click link\n');
  });
});
