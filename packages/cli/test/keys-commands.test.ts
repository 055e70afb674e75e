import { ApiKeyRepository, hashApiKey } from '@mailbeacon/db';
import { temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { runCli } from '../src/main';

/* `mailbeacon keys …` against a real PostgreSQL database of its own. */

let temp: TemporaryDatabase;
beforeAll(async () => {
  temp = await temporaryDatabase();
});
afterAll(() => temp?.drop());

const run = (args: string[]) => runCli({ args, env: { DATABASE_URL: temp.url }, readStdin: async () => Buffer.alloc(0) });
const addServer = async (name: string): Promise<string> => (await run(['servers', 'add', name])).stdout.toString().trim();
const listJson = async (args: string[] = []) => {
  const out = await run(['keys', 'list', '--json', ...args]);
  expect(out).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(out.stdout.toString()) as { id: number; server: string; name: string | null; prefix: string; revokedAt: string | null; lastUsedAt: string | null }[];
};

test('create prints the key alone on stdout, once; list shows its prefix and never the key; revoke ends it', async () => {
  const server = await addServer('Keyed Customer');
  const created = await run(['keys', 'create', '--server', server, '--name', 'Acme dashboard']);
  expect(created.code).toBe(0);
  expect(created.stdout).toMatch(/^mbk_[A-Za-z0-9_-]{43}\n$/);
  const key = created.stdout.toString().trim();
  expect(created.stderr).toMatch(new RegExp(`^created API key (\\d+) \\(${key.slice(0, 12)}…\\) for server ${server}; it is shown this once: keep it\\n$`));
  // It works: the repository finds it by its value (stored as a hash only).
  const found = await new ApiKeyRepository(temp.db).findByKey(key);
  expect(found).toMatchObject({ server, name: 'Acme dashboard', revokedAt: null });
  const stored = await temp.db.selectFrom('api_keys').select('key_hash').where('id', '=', found!.id).executeTakeFirstOrThrow();
  expect(stored.key_hash.equals(hashApiKey(key))).toBe(true);

  const list = await run(['keys', 'list', '--server', server]);
  expect(list.code).toBe(0);
  const [header, row, ...rest] = list.stdout.toString().split('\n');
  expect(header).toMatch(/^ID\s+SERVER\s+KEY\s+NAME\s+CREATED\s+LAST USED\s+REVOKED$/);
  expect(row).toMatch(new RegExp(`^${found!.id}\\s+${server}\\s+${key.slice(0, 12)}…\\s+Acme dashboard\\s+\\d{4}-\\d\\d-\\d\\dT\\S+\\s+\\d{4}-\\S+\\s+-$`));
  expect(rest).toEqual(['']);
  expect(list.stdout).not.toContain(key.slice(12));
  expect(await listJson(['--server', server])).toEqual([
    { id: found!.id, server, name: 'Acme dashboard', prefix: key.slice(0, 12), createdAt: expect.any(String), lastUsedAt: expect.any(String), revokedAt: null },
  ]);

  expect(await run(['keys', 'revoke', String(found!.id)])).toEqual({ stdout: `revoked API key ${found!.id} (${key.slice(0, 12)}…) of server ${server}\n`, stderr: '', code: 0 });
  expect((await new ApiKeyRepository(temp.db).findByKey(key))?.revokedAt).toEqual(expect.any(Date));
  expect((await listJson(['--server', server]))[0].revokedAt).toEqual(expect.any(String));
});

test('list covers every server without --server; a name is optional', async () => {
  const a = await addServer('List A');
  const b = await addServer('List B');
  await run(['keys', 'create', '--server', a]);
  await run(['keys', 'create', '--server', b]);
  const all = await listJson();
  expect(all.map((key) => key.server)).toEqual(expect.arrayContaining([a, b]));
  expect(all.find((key) => key.server === a)?.name).toBeNull();
  expect(await listJson(['--server', b])).toHaveLength(1);
});

test('servers remove is refused while the server has keys in force, naming them', async () => {
  const server = await addServer('Still Keyed');
  const key = (await run(['keys', 'create', '--server', server, '--name', 'reports'])).stdout.toString().trim();
  const [{ id }] = await listJson(['--server', server]);
  expect(await run(['servers', 'remove', server])).toEqual({
    stdout: '',
    stderr: `mailbeacon servers remove: server ${server} still has API keys in force (${id} ${key.slice(0, 12)}… "reports"): revoke them first\n`,
    code: 1,
  });
  await run(['keys', 'revoke', String(id)]);
  expect(await run(['servers', 'remove', server])).toMatchObject({ code: 0 });
});

test('mistakes: unknown server or key exit 1; bad values and command lines exit 2, naming them', async () => {
  expect(await run(['keys', 'create', '--server', 'nosuchserver'])).toEqual({ stdout: '', stderr: 'mailbeacon keys create: no server with token nosuchserver (see mailbeacon servers list)\n', code: 1 });
  expect(await run(['keys', 'list', '--server', 'nosuchserver'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no server with token nosuchserver') });
  expect(await run(['keys', 'revoke', '999999'])).toEqual({ stdout: '', stderr: 'mailbeacon keys revoke: no API key 999999 (see mailbeacon keys list)\n', code: 1 });
  expect(await run(['keys', 'revoke', 'abc'])).toEqual({ stdout: '', stderr: 'mailbeacon keys revoke: id: must be an API key id (a positive integer)\n', code: 2 });
  expect(await run(['keys', 'create'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--server TOKEN is required') });
  const server = await addServer('Bad Names');
  expect(await run(['keys', 'create', '--server', server, '--name', 'a\u001bb'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^mailbeacon keys create: name: must not contain control characters/) });
  expect(await run(['keys', 'create', '--server', server, 'extra'])).toMatchObject({ code: 2, stderr: expect.stringContaining('takes no arguments') });
  expect(await listJson(['--server', server])).toEqual([]);
  expect(await run(['keys', 'create', '--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: mailbeacon keys create --server TOKEN \[--name NAME\]/) });
});

test('a name stored with control characters is listed escaped', async () => {
  const server = await addServer('Escaped');
  await run(['keys', 'create', '--server', server]);
  await temp.db.updateTable('api_keys').set({ name: 'evil\u001b[2Jname' }).where('server_id', '=', temp.db.selectFrom('servers').select('id').where('token', '=', server)).execute();
  const list = (await run(['keys', 'list', '--server', server])).stdout.toString();
  expect(list).toContain('evil\\u001b[2Jname');
  expect(list).not.toContain('\u001b');
});
