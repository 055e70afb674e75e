import { sql } from 'kysely';
import pg from 'pg';
import { ensureDatabase, migrateToLatest, openDatabase, databaseName, redact, createDatabase } from '../src/database';
import { ServerHasDomainsError, ServerRepository } from '../src/servers';
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

  // ---- renaming and removing servers

  /** Resolves once another backend of this database waits for a row lock (the statement under test). */
  async function someoneWaitsForALock(): Promise<void> {
    for (;;) {
      const { rows } = await temp.db.executeQuery<{ waiting: number }>(
        sql`select count(*)::int as waiting from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.compile(temp.db),
      );
      if (rows[0].waiting > 0) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  test('rename keeps the token; an unknown token renames nothing', async () => {
    const server = await servers.create('Old name');
    expect(await servers.rename(server.token, 'New name')).toEqual({ ...server, name: 'New name' });
    expect(await servers.findByToken(server.token)).toEqual({ ...server, name: 'New name' });
    expect(await servers.rename('nosuchtoken', 'x')).toBeUndefined();
  });

  test('remove is refused while the server has tracking domains, naming them', async () => {
    const server = await servers.create('Owner');
    await domains.add({ host: 'click.b-owner.example', server: server.token });
    await domains.add({ host: 'click.a-owner.example', server: server.token });
    const refusal = servers.remove(server.token);
    await expect(refusal).rejects.toThrow(ServerHasDomainsError);
    await expect(refusal).rejects.toMatchObject({ hosts: ['click.a-owner.example', 'click.b-owner.example'], message: `server ${server.token} still has tracking domains (click.a-owner.example, click.b-owner.example): remove them first` });
    expect(await domains.list(server.token)).toHaveLength(2);

    await domains.remove('click.a-owner.example');
    await domains.remove('click.b-owner.example');
    expect(await servers.remove(server.token)).toBe(true);
    expect(await servers.findByToken(server.token)).toBeUndefined();
    expect(await servers.remove(server.token)).toBe(false);
  });

  /**
   * Runs `statement` in another session's open transaction, starts `race`, waits until it is
   * blocked on that transaction's locks, then commits: `race` ends as it would after losing.
   */
  async function racingAnOpenTransaction<T>(statement: string, params: unknown[], race: () => Promise<T>): Promise<T> {
    const other = new pg.Client({ connectionString: temp.url });
    await other.connect();
    try {
      await other.query('begin');
      await other.query(statement, params);
      const racing = race();
      racing.catch(() => undefined);
      await someoneWaitsForALock();
      await other.query('commit');
      return await racing;
    } finally {
      await other.end();
    }
  }

  test('a domain being added while the server is removed is not deleted with it', async () => {
    const server = await servers.create('Raced');
    const removing = racingAnOpenTransaction(`insert into tracking_domains (server_id, host) values ($1, 'click.raced.example')`, [server.id], () => servers.remove(server.token));
    await expect(removing).rejects.toThrow(ServerHasDomainsError);
    expect((await domains.findByHost('click.raced.example'))?.server).toBe(server.token);
  });

  test('a domain added for a server removed meanwhile is refused as an unknown server', async () => {
    const server = await servers.create('Vanishing');
    const adding = racingAnOpenTransaction('delete from servers where id = $1', [server.id], () => domains.add({ host: 'click.vanishing.example', server: server.token }));
    await expect(adding).rejects.toThrow(UnknownServerError);
  });
});

test('server tokens never start with "-" or "_" (they follow command-line options)', async () => {
  const { newServerToken } = await import('../src/servers');
  for (let i = 0; i < 2000; i++) expect(newServerToken()).toMatch(/^[A-Za-z0-9][A-Za-z0-9_-]{11}$/);
});
