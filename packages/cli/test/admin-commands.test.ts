import { randomBytes } from 'node:crypto';
import { dropDatabase, TEST_POSTGRES_URL, temporaryDatabase, trackingHostStandIn, type TemporaryDatabase, type TrackingHostStandIn } from '@mailbeacon/testing';
import { migrations } from '@mailbeacon/db';
import { runCli } from '../src/main';

/*
 * The admin commands against a real PostgreSQL database of their own, and `domains check`
 * against real sockets: a stand-in tracker that says `Hello.` only with X-Postal-Track-Host: 1,
 * behind a tiny proxy that adds the header (as the operator's nginx must).
 */

let temp: TemporaryDatabase;
let standIn: TrackingHostStandIn;
let trackerPort: number;
let proxyPort: number;

beforeAll(async () => {
  temp = await temporaryDatabase();
  standIn = await trackingHostStandIn();
  ({ trackerPort, proxyPort } = standIn);
});

afterAll(async () => {
  await standIn?.close();
  await temp?.drop();
});

const run = (args: string[], env: NodeJS.ProcessEnv = { DATABASE_URL: temp.url }) => runCli({ args, env, readStdin: async () => Buffer.alloc(0) });
const json = async (args: string[]) => {
  const out = await run(args);
  expect(out.code).toBe(0);
  return JSON.parse(out.stdout.toString());
};
const addServer = async (name: string): Promise<string> => {
  const out = await run(['servers', 'add', name]);
  expect(out.code).toBe(0);
  return out.stdout.toString().trim();
};

describe('servers', () => {
  test('add prints only the token on stdout; list shows it', async () => {
    const out = await run(['servers', 'add', 'Acme Mail']);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/^[A-Za-z0-9_-]{12}\n$/);
    const token = out.stdout.toString().trim();
    expect(out.stderr).toContain('"Acme Mail"');

    const list = await run(['servers', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout.toString().split('\n')[0]).toMatch(/^TOKEN\s+NAME\s+CREATED$/);
    expect(list.stdout).toMatch(new RegExp(`^${token}\\s+Acme Mail\\s+\\d{4}-\\d\\d-\\d\\dT`, 'm'));
    expect(await json(['servers', 'list', '--json'])).toContainEqual({ token, name: 'Acme Mail', createdAt: expect.any(String) });
  });

  test('a bad name names the field; a missing one is a usage error', async () => {
    expect(await run(['servers', 'add', '  '])).toEqual({ stdout: '', stderr: 'mailbeacon servers add: name: must not be empty\n', code: 2 });
    expect(await run(['servers', 'add'])).toMatchObject({ code: 2 });
    expect(await run(['servers', 'frob'])).toMatchObject({ code: 2, stderr: expect.stringContaining('unknown subcommand') });
  });
});

describe('servers rename, remove, and what a name may be', () => {
  const serverNames = async () => ((await json(['servers', 'list', '--json'])) as { name: string }[]).map((server) => server.name);

  test('--help creates nothing (it used to create a server named --help)', async () => {
    const before = await serverNames();
    expect(await run(['servers', 'add', '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: mailbeacon servers add NAME/) });
    expect(await serverNames()).toEqual(before);
  });

  test('rename keeps the token; remove is refused while the server has tracking domains', async () => {
    const token = await addServer('Before');
    expect(await run(['servers', 'rename', token, 'After Rename'])).toEqual({ stdout: `renamed server ${token} to "After Rename"\n`, stderr: '', code: 0 });
    expect(await json(['servers', 'list', '--json'])).toContainEqual({ token, name: 'After Rename', createdAt: expect.any(String) });

    await run(['domains', 'add', 'click.owned.example', '--server', token]);
    expect(await run(['servers', 'remove', token])).toEqual({
      stdout: '',
      stderr: `mailbeacon servers remove: server ${token} still has tracking domains (click.owned.example): remove them first\n`,
      code: 1,
    });
    expect(await json(['domains', 'list', '--server', token, '--json'])).toHaveLength(1);

    await run(['domains', 'remove', 'click.owned.example']);
    expect(await run(['servers', 'remove', token])).toEqual({ stdout: `removed server ${token}\n`, stderr: '', code: 0 });
    expect(await json(['servers', 'list', '--json'])).not.toContainEqual(expect.objectContaining({ token }));
  });

  test('an unknown token is an error (1), a malformed one or a bad name a bad command line (2)', async () => {
    const unknown = 'mailbeacon servers %s: no server with token nosuchtoken (see mailbeacon servers list)\n';
    expect(await run(['servers', 'rename', 'nosuchtoken', 'x'])).toEqual({ stdout: '', stderr: unknown.replace('%s', 'rename'), code: 1 });
    expect(await run(['servers', 'remove', 'nosuchtoken'])).toEqual({ stdout: '', stderr: unknown.replace('%s', 'remove'), code: 1 });
    expect(await run(['servers', 'remove', 'bad token!'])).toEqual({ stdout: '', stderr: 'mailbeacon servers remove: token: must be a server token\n', code: 2 });
    const token = await addServer('Stays');
    expect(await run(['servers', 'rename', token, '  '])).toEqual({ stdout: '', stderr: 'mailbeacon servers rename: name: must not be empty\n', code: 2 });
    expect(await json(['servers', 'list', '--json'])).toContainEqual(expect.objectContaining({ token, name: 'Stays' }));
  });

  test('names with control characters are refused, in add and rename alike', async () => {
    const before = await serverNames();
    const refusal = (command: string) => ({ stdout: '', stderr: `mailbeacon servers ${command}: name: must not contain control characters (such as NUL, ESC, BEL or a line break)\n`, code: 2 });
    for (const name of ['\u001b[31mRed', 'ding\u0007', 'two\nlines', 'csi\u009b2J']) {
      expect(await run(['servers', 'add', name])).toEqual(refusal('add'));
      expect(await run(['servers', 'rename', 'abc', name])).toEqual(refusal('rename'));
    }
    expect(await serverNames()).toEqual(before);
  });

  test('a name already stored with control characters is listed escaped; --json stays valid JSON', async () => {
    // A row written before names were checked (or by hand): the CLI must not replay it to the terminal.
    const name = 'evil\u001b]0;owned\u0007\u001b[2J\u009b1m\u007f\nline';
    const { token } = await temp.db.insertInto('servers').values({ name, token: 'storedEvilName' }).returning('token').executeTakeFirstOrThrow();
    const list = await run(['servers', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${token}\\s+evil\\\\u001b\\]0;owned\\\\u0007\\\\u001b\\[2J\\\\u009b1m\\\\u007f\\\\u000aline\\s`, 'm'));
    expect(list.stdout.toString()).not.toMatch(/(?!\n)\p{Cc}/u);

    const raw = (await run(['servers', 'list', '--json'])).stdout.toString();
    expect(raw).not.toMatch(/(?!\n)\p{Cc}/u);
    expect(JSON.parse(raw)).toContainEqual({ token, name, createdAt: expect.any(String) });
    await temp.db.deleteFrom('servers').where('token', '=', token).execute();
  });
});

describe('domains', () => {
  test('add, list, update, remove', async () => {
    const token = await addServer('Flow');
    const added = await run(['domains', 'add', 'Click.Flow.Example.', '--server', token, '--exclude', 'Example.ORG', '--exclude', 'example.org']);
    expect(added).toMatchObject({ code: 0, stderr: '' });
    expect(added.stdout).toContain(`added click.flow.example for server ${token} (https, clicks on, opens on, not tracking links to example.org)`);

    const table = (await run(['domains', 'list', '--server', token])).stdout.toString().split('\n');
    expect(table[0]).toMatch(/^HOST\s+SERVER\s+SSL\s+CLICKS\s+OPENS\s+EXCLUDED\s+VERIFIED$/);
    expect(table[1]).toMatch(new RegExp(`^click\\.flow\\.example\\s+${token}\\s+https\\s+on\\s+on\\s+example\\.org\\s+unchecked$`));
    expect(await json(['domains', 'list', '--server', token, '--json'])).toEqual([
      { host: 'click.flow.example', server: token, ssl: true, trackClicks: true, trackOpens: true, excludedDomains: ['example.org'], verification: { status: 'unchecked', message: null, checkedAt: null } },
    ]);

    const updated = await run(['domains', 'update', 'click.flow.example', '--http', '--no-clicks', '--exclude', 'a.example', '--exclude', 'b.example']);
    expect(updated).toMatchObject({ code: 0, stdout: 'updated click.flow.example (http, clicks off, opens on, not tracking links to a.example, b.example)\n' });
    expect(await json(['domains', 'list', '--server', token, '--json'])).toMatchObject([{ ssl: false, trackClicks: false, trackOpens: true, excludedDomains: ['a.example', 'b.example'] }]);

    // Flags left out stay as they are; --no-exclude clears the list.
    expect(await run(['domains', 'update', 'click.flow.example', '--ssl', '--no-opens', '--no-exclude'])).toMatchObject({ code: 0 });
    expect(await json(['domains', 'list', '--server', token, '--json'])).toMatchObject([{ ssl: true, trackClicks: false, trackOpens: false, excludedDomains: [] }]);
    expect(await run(['domains', 'update', 'click.flow.example', '--clicks', '--opens'])).toMatchObject({ code: 0 });
    expect(await json(['domains', 'list', '--server', token, '--json'])).toMatchObject([{ trackClicks: true, trackOpens: true }]);

    expect(await run(['domains', 'remove', 'click.flow.example'])).toEqual({ stdout: 'removed click.flow.example\n', stderr: '', code: 0 });
    expect(await json(['domains', 'list', '--server', token, '--json'])).toEqual([]);
    expect(await run(['domains', 'remove', 'click.flow.example'])).toEqual({
      stdout: '',
      stderr: 'mailbeacon domains remove: click.flow.example is not a tracking domain (see mailbeacon domains list)\n',
      code: 1,
    });
    expect(await run(['domains', 'update', 'click.flow.example', '--http'])).toMatchObject({ code: 1, stderr: expect.stringContaining('is not a tracking domain') });
  });

  test('validation errors name the field, exit 2', async () => {
    const token = await addServer('Validation');
    expect(await run(['domains', 'add', 'not a host', '--server', token])).toEqual({
      stdout: '',
      stderr: 'mailbeacon domains add: host: must be a domain name such as click.example.com\n',
      code: 2,
    });
    const two = await run(['domains', 'add', 'localhost', '--server', 'bad token!', '--exclude', 'ok.example', '--exclude', 'no way']);
    expect(two.code).toBe(2);
    expect(two.stderr).toContain('mailbeacon domains add: host: must be a domain name such as click.example.com\n');
    expect(two.stderr).toContain('mailbeacon domains add: server: must be a server token\n');
    expect(two.stderr).toContain('mailbeacon domains add: excludedDomains[1]: must be a domain name such as click.example.com\n');
    expect(await run(['domains', 'update', 'bad_host!', '--http'])).toMatchObject({ code: 2, stderr: 'mailbeacon domains update: host: must be a domain name such as click.example.com\n' });
    expect(await run(['domains', 'update', 'click.v.example', '--exclude', 'bad_domain'])).toMatchObject({ code: 2, stderr: expect.stringContaining('excludedDomains[0]: must be a domain name') });
  });

  test('command-line mistakes are usage errors, exit 2', async () => {
    expect(await run(['domains'])).toMatchObject({ code: 2, stderr: expect.stringContaining('give a subcommand') });
    expect(await run(['domains', 'add', 'click.u.example'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--server TOKEN is required') });
    expect(await run(['domains', 'update', 'click.u.example'])).toMatchObject({ code: 2, stderr: expect.stringContaining('give at least one of') });
    expect(await run(['domains', 'update', 'click.u.example', '--ssl', '--http'])).toMatchObject({ code: 2, stderr: expect.stringContaining('only one of --ssl and --http') });
    expect(await run(['domains', 'update', 'click.u.example', '--exclude', 'a.example', '--no-exclude'])).toMatchObject({ code: 2 });
    expect(await run(['domains', 'check', 'click.u.example', '--port', '70000'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--port must be an integer from 1 to 65535') });
    expect(await run(['domains', 'check', 'click.u.example', '--address', 'proxy.example'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--address must be an IP address') });
    expect(await run(['domains', 'list', '--bogus'])).toMatchObject({ code: 2 });
  });

  test('a tracking domain stored before IP addresses were refused can still be removed', async () => {
    const token = await addServer('Legacy');
    const { id } = await temp.db.selectFrom('servers').select('id').where('token', '=', token).executeTakeFirstOrThrow();
    await temp.db.insertInto('tracking_domains').values({ server_id: id, host: '10.0.0.1', verification_message: null, checked_at: null }).execute();
    expect(await run(['domains', 'add', '10.0.0.1', '--server', token])).toMatchObject({ code: 2, stderr: expect.stringContaining('not an IP address') });
    expect(await run(['domains', 'remove', '10.0.0.1'])).toEqual({ stdout: 'removed 10.0.0.1\n', stderr: '', code: 0 });
  });

  test('an unknown server and a duplicate host are errors, exit 1', async () => {
    expect(await run(['domains', 'add', 'click.unknown.example', '--server', 'nosuchserver'])).toEqual({
      stdout: '',
      stderr: 'mailbeacon domains add: no server with token nosuchserver\n',
      code: 1,
    });
    expect(await run(['domains', 'list', '--server', 'nosuchserver'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no server with token nosuchserver') });

    const [first, second] = [await addServer('First'), await addServer('Second')];
    expect(await run(['domains', 'add', 'click.dup.example', '--server', first])).toMatchObject({ code: 0 });
    expect(await run(['domains', 'add', 'CLICK.dup.example', '--server', second])).toEqual({
      stdout: '',
      stderr: 'mailbeacon domains add: click.dup.example is already a tracking domain\n',
      code: 1,
    });
  });
});

describe('domains check', () => {
  const verification = async (host: string) =>
    temp.db.selectFrom('tracking_domains').select(['verification_status', 'verification_message', 'checked_at']).where('host', '=', host).executeTakeFirstOrThrow();

  test('through the header-adding proxy: ✓, exit 0, recorded as ok', async () => {
    const token = await addServer('Checked');
    await run(['domains', 'add', 'click.ok.example', '--server', token, '--http']);
    const out = await run(['domains', 'check', 'click.ok.example', '--address', '127.0.0.1', '--port', String(proxyPort), '--timeout', '2000']);
    expect(out.code).toBe(0);
    const text = out.stdout.toString();
    expect(text).toContain(`✓ http GET http://click.ok.example:${proxyPort}/ (via 127.0.0.1) → 200 "Hello."`);
    expect(text).toMatch(/^– dns .*informational/m);
    expect(text).toContain('\nclick.ok.example is ready for tracking\n');
    expect(text).not.toContain('to fix:');
    expect(await verification('click.ok.example')).toMatchObject({ verification_status: 'ok', verification_message: 'click.ok.example is ready for tracking', checked_at: expect.any(Date) });
    expect(await json(['domains', 'list', '--server', token, '--json'])).toMatchObject([{ verification: { status: 'ok', checkedAt: expect.any(String) } }]);
    expect((await run(['domains', 'list', '--server', token])).stdout).toMatch(/click\.ok\.example .* ok \d{4}-\d\d-\d\dT/);
  });

  test('straight at the tracker, without the header: ✗ with the proxy advice, exit 1, recorded as failed', async () => {
    const token = await addServer('Misconfigured');
    await run(['domains', 'add', 'click.bad.example', '--server', token, '--http']);
    const out = await run(['domains', 'check', 'click.bad.example', '--address', '127.0.0.1', '--port', String(trackerPort)]);
    expect(out.code).toBe(1);
    const text = out.stdout.toString();
    expect(text).toContain(`✗ http GET http://click.bad.example:${trackerPort}/ (via 127.0.0.1) → 404 "Not Found"`);
    expect(text).toContain('click.bad.example is NOT ready: GET / answered 404 "Not Found" instead of 200 "Hello."');
    expect(text).toContain('to fix:\n  - the proxy answers but does not pass requests to the tracker with the header X-Postal-Track-Host: 1 — add `proxy_set_header X-Postal-Track-Host 1;`');
    expect(await verification('click.bad.example')).toMatchObject({ verification_status: 'failed', verification_message: expect.stringContaining('is NOT ready'), checked_at: expect.any(Date) });
  });

  test('uses the domain\'s ssl setting, and needs a known host', async () => {
    const token = await addServer('Https');
    await run(['domains', 'add', 'click.tls.example', '--server', token]);
    // An https check against a plain-http port fails in the TLS handshake.
    const out = await run(['domains', 'check', 'click.tls.example', '--address', '127.0.0.1', '--port', String(proxyPort)]);
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(`✗ http GET https://click.tls.example:${proxyPort}/ (via 127.0.0.1) → TLS error`);
    expect(await run(['domains', 'check', 'click.nobody.example'])).toMatchObject({ code: 1, stderr: 'mailbeacon domains check: click.nobody.example is not a tracking domain (see mailbeacon domains list)\n' });
  });

  test('without --address, a host DNS does not know gets the CNAME advice', async () => {
    const token = await addServer('NoDns');
    await run(['domains', 'add', 'click.nowhere.invalid', '--server', token]);
    const out = await run(['domains', 'check', 'click.nowhere.invalid', '--timeout', '2000']);
    expect(out.code).toBe(1);
    expect(out.stdout).toMatch(/^✗ dns /m);
    expect(out.stdout).toContain("create a CNAME record for click.nowhere.invalid pointing at your mailbeacon tracker's host (or A/AAAA records)");
    expect(await verification('click.nowhere.invalid')).toMatchObject({ verification_status: 'failed' });
  });
});

describe('migrate and configuration', () => {
  test('creates a missing database, applies the migrations, then finds it up to date', async () => {
    const name = `mailbeacon_cli_test_${randomBytes(6).toString('hex')}`;
    const url = new URL(TEST_POSTGRES_URL);
    url.pathname = `/${name}`;
    try {
      expect(await run(['migrate'], { DATABASE_URL: url.toString() })).toEqual({
        stdout: `created database ${name}\n${Object.keys(migrations).map((migration) => `applied ${migration}\n`).join('')}`,
        stderr: '',
        code: 0,
      });
      expect(await run(['migrate'], { DATABASE_URL: url.toString() })).toEqual({ stdout: 'database is up to date\n', stderr: '', code: 0 });
      // The migrated database is usable by the other commands.
      expect(await run(['servers', 'list', '--json'], { DATABASE_URL: url.toString() })).toEqual({ stdout: '[]\n', stderr: '', code: 0 });
    } finally {
      await dropDatabase(name);
    }
  });

  test('a bad DATABASE_URL is a configuration error (78); an unreachable one says which setting', async () => {
    expect(await run(['servers', 'list'], { DATABASE_URL: 'mysql://x/y' })).toMatchObject({ code: 78, stderr: expect.stringContaining('DATABASE_URL: must be a postgres:// or postgresql:// URL') });
    const unreachable = await run(['servers', 'list'], { DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/nothing' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot open the database postgres://postgres:***@127.0.0.1:1/nothing (DATABASE_URL)');
    expect(unreachable.stderr).not.toContain('secret');
  });
});
