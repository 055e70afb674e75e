import { readFileSync } from 'node:fs';
import path from 'node:path';
import { keyRing, signLink } from '@mailbeacon/links';
import { runCli } from '../src/main';

/*
 * The command line itself: help, version and usage errors, and what reaches the terminal.
 * Nothing here touches a database: a DATABASE_URL nobody listens on proves it (a command that
 * tried would fail with exit status 1, not answer).
 */

const env = { MAILBEACON_SECRET: 'cli-test-secret-0123456789', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nobody' };
const run = (args: string[]) => runCli({ args, env, readStdin: async () => Buffer.alloc(0) });

const COMMANDS = [
  'rewrite',
  'resolve',
  'migrate',
  'servers add',
  'servers list',
  'servers rename',
  'servers remove',
  'domains add',
  'domains list',
  'domains update',
  'domains remove',
  'domains check',
];

/** Every control character but the line break, which separates lines. */
const CONTROL = /(?!\n)\p{Cc}/u;

describe('help', () => {
  test.each(COMMANDS)('mailbeacon %s --help prints that command\'s usage and help, exit 0, and does nothing', async (name) => {
    for (const flag of ['--help', '-h']) {
      const out = await run([...name.split(' '), flag]);
      expect(out).toMatchObject({ code: 0, stderr: '' });
      const text = out.stdout.toString();
      expect(text.startsWith(`Usage: mailbeacon ${name}`)).toBe(true);
      // Its own usage only: no other line is a usage line.
      expect(text.split('\n').filter((line) => /^(Usage: | {2})mailbeacon /.test(line))).toEqual([text.split('\n')[0]]);
    }
    // Wherever it stands among the arguments, and by `mailbeacon help COMMAND` too.
    expect((await run([...name.split(' '), 'x.example', '--help'])).stdout).toEqual((await run([...name.split(' '), '--help'])).stdout);
    expect((await run(['help', ...name.split(' ')])).stdout).toEqual((await run([...name.split(' '), '--help'])).stdout);
  });

  test('the commands that took --help for an argument now answer it', async () => {
    // resolve used to print `invalid not a URL`, servers add to create a server named --help.
    expect((await run(['resolve', '--help'])).stdout).toMatch(/^Usage: mailbeacon resolve URL\.\.\.\n/);
    expect((await run(['servers', 'add', '--help'])).stdout).toMatch(/^Usage: mailbeacon servers add NAME\n/);
    expect((await run(['domains', 'update', 'click.example.com', '-h'])).code).toBe(0);
  });

  test('a group answers --help with its subcommands; mailbeacon --help with every command', async () => {
    const servers = await run(['servers', '--help']);
    expect(servers).toMatchObject({ code: 0, stderr: '' });
    expect(servers.stdout.toString().split('\n').filter((line) => line.startsWith('  mailbeacon '))).toEqual([
      '  mailbeacon servers add NAME',
      '  mailbeacon servers list [--json]',
      '  mailbeacon servers rename TOKEN NAME',
      '  mailbeacon servers remove TOKEN',
    ]);
    const all = await run(['--help']);
    expect(all.code).toBe(0);
    for (const name of COMMANDS) expect(all.stdout).toContain(`  mailbeacon ${name}`);
    expect(all.stdout).toContain('  mailbeacon --version');
    expect((await run(['help'])).stdout).toEqual(all.stdout);
  });

  test('--version prints the version of the package', async () => {
    const { version } = JSON.parse(readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ stdout: `mailbeacon ${version}\n`, stderr: '', code: 0 });
    expect(await run(['-V'])).toEqual({ stdout: `mailbeacon ${version}\n`, stderr: '', code: 0 });
  });
});

describe('usage errors: exit 2, with only the usage of the command at fault', () => {
  test.each([
    [['domains', 'list', '--bogus'], 'mailbeacon domains list: unknown option --bogus\nusage: mailbeacon domains list [--server TOKEN] [--json]\n(mailbeacon domains list --help for more)\n'],
    [['servers', 'remove', '-x'], 'mailbeacon servers remove: unknown option -x\nusage: mailbeacon servers remove TOKEN\n(mailbeacon servers remove --help for more)\n'],
    [['servers', 'add', 'Acme', 'Mail'], 'mailbeacon servers add: takes only NAME (got "Acme" "Mail") (quote a NAME that has spaces)\nusage: mailbeacon servers add NAME\n(mailbeacon servers add --help for more)\n'],
    [['servers', 'rename', 'abc'], 'mailbeacon servers rename: give NAME (quote a NAME that has spaces)\nusage: mailbeacon servers rename TOKEN NAME\n(mailbeacon servers rename --help for more)\n'],
    [['domains', 'add', 'click.example.com', '--server'], 'mailbeacon domains add: --server needs a value\n'],
    [['domains', 'add', 'click.example.com', '--server', '--http'], 'mailbeacon domains add: --server needs a value\n'],
    [['domains', 'list', '--json=yes'], 'mailbeacon domains list: --json takes no value\n'],
    [['migrate', 'now'], 'mailbeacon migrate: takes no arguments (got "now")\nusage: mailbeacon migrate\n'],
    [['resolve', '-x'], 'mailbeacon resolve: unknown option -x\nusage: mailbeacon resolve URL...\n'],
  ])('mailbeacon %j', async (args, expected) => {
    const out = await run(args);
    expect(out.code).toBe(2);
    expect(out.stdout).toBe('');
    expect(out.stderr.startsWith(expected)).toBe(true);
    // Not node's parser's words, not the whole list of commands.
    expect(out.stderr).not.toMatch(/Unknown option|positional argument|To specify/);
    expect(out.stderr.split('\n').filter((line) => line.includes('mailbeacon ') && line.startsWith('usage:'))).toHaveLength(1);
    expect(out.stderr.split('\n').length).toBeLessThanOrEqual(4);
  });

  test('an unknown command or subcommand lists the choices, not the usage of everything', async () => {
    expect(await run(['frobnicate'])).toEqual({ stdout: '', stderr: 'mailbeacon: unknown command "frobnicate" (rewrite, resolve, migrate, servers, domains, stats, keys; mailbeacon --help for their usage)\n', code: 2 });
    const sub = await run(['servers', 'frob']);
    expect(sub.code).toBe(2);
    expect(sub.stderr).toMatch(/^mailbeacon servers: unknown subcommand "frob" \(add, list, rename, remove\)\n/);
    expect(sub.stderr).not.toContain('mailbeacon domains');
  });

  test('an option after -- is an argument: a NAME that reads as an option is refused all the same', async () => {
    expect(await run(['servers', 'add', '--', '--help'])).toEqual({ stdout: '', stderr: 'mailbeacon servers add: name: must not start with - (it would read as a command-line option)\n', code: 2 });
    expect(await run(['servers', 'rename', 'abc', '--', '-x'])).toMatchObject({ code: 2, stderr: 'mailbeacon servers rename: name: must not start with - (it would read as a command-line option)\n' });
  });

  test('an IP address is refused as a tracking domain before anything is advised', async () => {
    for (const host of ['127.0.0.1', '10.0.0.1', '[::1]', '0x7f.1']) {
      const out = await run(['domains', 'add', host, '--server', 'abc']);
      expect(out).toEqual({ stdout: '', stderr: 'mailbeacon domains add: host: must be a domain name such as click.example.com, not an IP address (its last label cannot be a number)\n', code: 2 });
    }
  });
});

describe('control characters never reach the terminal raw', () => {
  test('resolve prints a signed destination\'s control characters escaped, one URL per line', async () => {
    const destination = 'https://shop.example/a\u001b]0;owned\u0007\u001b[2J\u009b1m\nsecond-line';
    const url = signLink(keyRing(env.MAILBEACON_SECRET), { host: 'click.example.com' }, { server: 'srv1', messageToken: 'AAAAAAAAAAAAAAAAAAAAAA', linkIndex: 0, url: destination });
    const out = await run(['resolve', url, 'https://evil.example/\u001b[2J']);
    expect(out.stdout).toBe('https://shop.example/a\\u001b]0;owned\\u0007\\u001b[2J\\u009b1m\\u000asecond-line\ninvalid not a click link\n');
    expect(out.stdout.toString()).not.toMatch(CONTROL);
  });

  test('an argument echoed in an error is escaped too', async () => {
    const out = await run(['domains', 'check', 'click.example.com', '--address', 'x\u001b[31m\u0007']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--address must be an IP address (got x\\u001b[31m\\u0007)');
    expect(out.stderr).not.toMatch(CONTROL);
  });
});
