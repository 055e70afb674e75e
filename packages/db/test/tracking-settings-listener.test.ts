import pg from 'pg';
import { temporaryDatabase, OwnPostgres, type TemporaryDatabase } from '@mailbeacon/testing';
import { openDatabase } from '../src/database';
import { ServerRepository } from '../src/servers';
import { loadTrackingSettings } from '../src/tracking-settings';
import { TrackingDomainRepository } from '../src/tracking-domains';
import { TRACKING_SETTINGS_LISTENER_NAME, TrackingSettingsListener } from '../src/tracking-settings-listener';

/** Counts the listener's calls and lets a test wait for the next one. */
class Calls {
  count = 0;
  private waiters: Array<{ above: number; resolve: () => void }> = [];
  readonly changed = () => {
    this.count++;
    this.waiters = this.waiters.filter((w) => (this.count > w.above ? (w.resolve(), false) : true));
  };
  /** Resolves at the first call after now. */
  next(what: string, ms = 15_000): Promise<void> {
    const above = this.count;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no call for ${what} within ${ms} ms`)), ms);
      this.waiters.push({ above, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

/** The pid of the listener's backend in `database`, once it has run its LISTEN. */
async function listenerBackend(admin: pg.Client, database: string): Promise<number | undefined> {
  const rows = await admin.query<{ pid: number }>(
    `select pid from pg_stat_activity where datname = $1 and application_name = $2 and state = 'idle' and (query ilike 'listen%' or query = 'select 1')`,
    [database, TRACKING_SETTINGS_LISTENER_NAME],
  );
  return rows.rows[0]?.pid;
}

const clients: pg.Client[] = [];
/** A plain connection, as psql would make; closed after the tests. */
async function connected(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

describe('TrackingSettingsListener (real PostgreSQL)', () => {
  let temp: TemporaryDatabase;
  let listener: TrackingSettingsListener;
  const calls = new Calls();
  const errors: unknown[] = [];

  beforeAll(async () => {
    temp = await temporaryDatabase();
    listener = new TrackingSettingsListener(temp.url, { onError: (error) => errors.push(error) });
    const connected = calls.next('the first connection');
    await listener.start(calls.changed);
    await connected;
    expect(listener.listening).toBe(true);
  });
  afterAll(async () => {
    await listener?.stop();
    await Promise.all(clients.map((client) => client.end()));
    await temp?.drop();
  });

  test('every change to servers or tracking domains is announced, whoever makes it (repositories, plain SQL)', async () => {
    const servers = new ServerRepository(temp.db);
    const domains = new TrackingDomainRepository(temp.db);
    let announced = calls.next('servers add');
    const server = await servers.create('s');
    await announced;
    announced = calls.next('domains add');
    await domains.add({ host: 'click.a.example', server: server.token });
    await announced;
    announced = calls.next('domains update');
    await domains.update('click.a.example', { trackOpens: false });
    await announced;
    announced = calls.next('an update in plain SQL (psql)');
    await (await connected(temp.url)).query('update tracking_domains set ssl = false');
    await announced;
    announced = calls.next('domains remove');
    await domains.remove('click.a.example');
    await announced;
    announced = calls.next('a server deleted in plain SQL');
    await (await connected(temp.url)).query('delete from servers');
    await announced;
    expect(errors).toEqual([]);
  });

  test('only changes the rewriter uses are announced: not a rename, a check result, or a statement that changes nothing', async () => {
    const servers = new ServerRepository(temp.db);
    const domains = new TrackingDomainRepository(temp.db);
    const server = await servers.create('quiet');
    await domains.add({ host: 'click.quiet.example', server: server.token });
    const psql = await connected(temp.url);
    // sync() returns once every notification committed before it has been delivered.
    expect(await listener.sync()).toBe(true);
    const before = calls.count;

    await domains.recordCheck('click.quiet.example', 'ok', 'ready');
    await domains.recordCheck('click.quiet.example', 'failed', 'no CNAME');
    await servers.rename(server.token, 'renamed');
    await psql.query(`update tracking_domains set ssl = ssl, updated_at = now() where host = 'click.quiet.example'`);
    await psql.query(`update tracking_domains set ssl = false where host = 'no.such.example'`);
    await psql.query(`delete from servers where token = 'no-such-token'`);
    await psql.query('begin; insert into servers (name, token) values ($$rolled back$$, $$rolled-back$$); rollback');
    expect(await listener.sync()).toBe(true);
    expect(calls.count).toBe(before);

    // …and each change it uses still is, once per statement however many rows it touches.
    const announcedBy = async (what: string, change: () => Promise<unknown>) => {
      const count = calls.count;
      await change();
      expect(await listener.sync()).toBe(true);
      expect([what, calls.count - count]).toEqual([what, 1]);
    };
    await announcedBy('a tracking setting', () => domains.update('click.quiet.example', { trackClicks: false }));
    await announcedBy('the excluded domains', () => psql.query(`update tracking_domains set excluded_domains = '{example.org}'`));
    await announcedBy('a host', () => psql.query(`update tracking_domains set host = 'click2.quiet.example' where host = 'click.quiet.example'`));
    const other = await servers.create('other');
    await domains.add({ host: 'click.other.example', server: other.token });
    await listener.sync();
    await announcedBy('a domain moved to another server', () =>
      psql.query(`update tracking_domains set server_id = (select id from servers where token = $1) where host = 'click2.quiet.example'`, [other.token]),
    );
    await announcedBy('a server token', () => psql.query(`update servers set token = token || 'x' where token = $1`, [server.token]));
    await announcedBy('several rows in one statement', () => psql.query(`update tracking_domains set track_opens = not track_opens`));
    await announcedBy('a truncate', () => psql.query('truncate tracking_domains'));
  });

  test('loadTrackingSettings: every server token, with or without domains, and every domain', async () => {
    const servers = new ServerRepository(temp.db);
    const a = await servers.create('with a domain');
    const b = await servers.create('without');
    await new TrackingDomainRepository(temp.db).add({ host: 'click.load.example', server: a.token });
    const settings = await loadTrackingSettings(temp.db);
    expect(settings.servers).toEqual(expect.arrayContaining([a.token, b.token]));
    expect(settings.domains.map((d) => [d.host, d.server])).toEqual([['click.load.example', a.token]]);
  });

  test('after its backend is terminated it reports the loss, reconnects, says changes may have been missed, and hears the next change', async () => {
    const admin = await connected(temp.url);
    const database = new URL(temp.url).pathname.slice(1);
    const before = await listenerBackend(admin, database);
    expect(before).toBeDefined();
    const reconnected = calls.next('the reconnection');
    await admin.query('select pg_terminate_backend($1)', [before]);
    await reconnected;
    expect(errors.length).toBeGreaterThan(0);
    expect(listener.listening).toBe(true);
    const announced = calls.next('a change after the reconnection');
    await new ServerRepository(temp.db).create('after');
    await announced;
  });
});

test('it survives a PostgreSQL restart: reconnects, says so, and hears the changes made afterwards', async () => {
  const postgres = await OwnPostgres.start();
  const url = postgres.url('mailbeacon_listener');
  const db = await openDatabase(url, { maxConnections: 2 });
  const calls = new Calls();
  const listener = new TrackingSettingsListener(url, { retryMs: 50, maxRetryMs: 500 });
  try {
    const connected = calls.next('the first connection');
    await listener.start(calls.changed);
    await connected;
    const reconnected = calls.next('the reconnection after the restart');
    await postgres.restart();
    await reconnected;
    const announced = calls.next('a change after the restart');
    await new ServerRepository(db).create('after the restart');
    await announced;
    expect((await loadTrackingSettings(db)).servers).toHaveLength(1);
  } finally {
    await listener.stop();
    await db.destroy();
    await postgres.destroy();
  }
}, 90_000);

