import pg from 'pg';
import { ensureDatabase, migrateToLatest, openDatabase, databaseName, redact, createDatabase } from '../src/database';
import { ServerRepository } from '../src/servers';
import { TrackingDomainRepository, UnknownServerError, DuplicateTrackingDomainError } from '../src/tracking-domains';
import { temporaryDatabase, TEST_POSTGRES_URL, type TemporaryDatabase } from '@mailbeacon/testing';

async function databaseExists(name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await client.connect();
  try {
    return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

describe('database setup', () => {
  test('openDatabase creates a missing database and migrates it; running again changes nothing', async () => {
    const temp = await temporaryDatabase();
    try {
      const name = databaseName(temp.url);
      expect(await databaseExists(name)).toBe(true);
      const tables = await temp.db.introspection.getTables();
      expect(tables.map((t) => t.name).sort()).toEqual(expect.arrayContaining(['servers', 'tracking_domains']));
      expect(await ensureDatabase(temp.url)).toBe(false);
      const again = await migrateToLatest(temp.db);
      expect(again.results).toEqual([]);
    } finally {
      await temp.drop();
    }
  });

  test('several processes migrating at once end with one schema', async () => {
    const temp = await temporaryDatabase();
    const others = [createDatabase(temp.url), createDatabase(temp.url)];
    try {
      await Promise.all(others.map((db) => migrateToLatest(db)));
      expect((await temp.db.introspection.getTables()).filter((t) => t.name === 'servers')).toHaveLength(1);
    } finally {
      await Promise.all(others.map((db) => db.destroy()));
      await temp.drop();
    }
  });

  test('an unreachable server fails with the connection error', async () => {
    await expect(openDatabase('postgres://postgres@127.0.0.1:1/nothing')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('redact hides passwords', () => {
    expect(redact('postgres://u:secret@h:5432/db')).toBe('postgres://u:***@h:5432/db');
  });
});

describe('repositories', () => {
  let temp: TemporaryDatabase;
  let servers: ServerRepository;
  let domains: TrackingDomainRepository;
  beforeAll(async () => {
    temp = await temporaryDatabase();
    servers = new ServerRepository(temp.db);
    domains = new TrackingDomainRepository(temp.db);
  });
  afterAll(() => temp.drop());

  test('servers get a short, unique, URL-safe token', async () => {
    const a = await servers.create('Newsletters');
    const b = await servers.create('Receipts');
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(a.token).not.toBe(b.token);
    expect((await servers.list()).map((s) => s.name)).toEqual(expect.arrayContaining(['Newsletters', 'Receipts']));
    expect(await servers.findByToken(a.token)).toEqual(a);
    expect(await servers.findByToken('nope')).toBeUndefined();
  });

  test('tracking domains: add with defaults, list, update, record a check, remove', async () => {
    const server = await servers.create('Shop');
    const added = await domains.add({ host: 'click.shop.example', server: server.token });
    expect(added).toMatchObject({ host: 'click.shop.example', server: server.token, ssl: true, trackClicks: true, trackOpens: true, excludedDomains: [], verification: { status: 'unchecked', message: null, checkedAt: null } });

    const updated = await domains.update('click.shop.example', { ssl: false, trackOpens: false, excludedDomains: ['shop.example'] });
    expect(updated).toMatchObject({ ssl: false, trackClicks: true, trackOpens: false, excludedDomains: ['shop.example'] });
    expect(updated!.updatedAt.getTime()).toBeGreaterThanOrEqual(added.updatedAt.getTime());
    expect(await domains.update('absent.example', { ssl: true })).toBeUndefined();

    await domains.recordCheck('click.shop.example', 'ok', 'answers Hello.');
    expect((await domains.findByHost('click.shop.example'))!.verification).toMatchObject({ status: 'ok', message: 'answers Hello.' });

    expect((await domains.list(server.token)).map((d) => d.host)).toEqual(['click.shop.example']);
    expect(await domains.remove('click.shop.example')).toBe(true);
    expect(await domains.remove('click.shop.example')).toBe(false);
    expect(await domains.list(server.token)).toEqual([]);
  });

  test('a host belongs to one server only; an unknown server is refused', async () => {
    const a = await servers.create('A');
    const b = await servers.create('B');
    await domains.add({ host: 'click.one.example', server: a.token });
    await expect(domains.add({ host: 'click.one.example', server: b.token })).rejects.toThrow(DuplicateTrackingDomainError);
    await expect(domains.add({ host: 'click.two.example', server: 'no-such-server' })).rejects.toThrow(UnknownServerError);
  });
});

test('server tokens never start with "-" or "_" (they follow command-line options)', async () => {
  const { newServerToken } = await import('../src/servers');
  for (let i = 0; i < 2000; i++) expect(newServerToken()).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{11}$/);
});
