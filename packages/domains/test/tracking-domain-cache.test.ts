import { loadTrackingSettings, openDatabase, ServerRepository, TrackingDomainRepository, TrackingSettingsListener, type TrackingSettings } from '@mailbeacon/db';
import { OwnPostgres, temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { TrackingDomainCache, type TrackingSettingsChanges } from '../src/tracking-domain-cache';

const TEN_MINUTES = 600_000;

const until = async (condition: () => boolean | Promise<boolean>, what: string, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const hosts = async (cache: TrackingDomainCache, server: string) => (await cache.domainsOf(server))?.map((d) => d.host);

describe('TrackingDomainCache (real Postgres)', () => {
  let temp: TemporaryDatabase;
  let servers: ServerRepository;
  let domains: TrackingDomainRepository;
  beforeAll(async () => {
    temp = await temporaryDatabase();
    servers = new ServerRepository(temp.db);
    domains = new TrackingDomainRepository(temp.db);
  });
  afterAll(() => temp.drop());

  test('serves from memory, picks up changes within the refresh time, keeps the last good copy when Postgres fails', async () => {
    const server = await servers.create('s');
    await domains.add({ host: 'click.a.example', server: server.token });

    let failing = false;
    const errors: unknown[] = [];
    const source = { load: () => (failing ? Promise.reject(new Error('connection refused')) : loadTrackingSettings(temp.db)) };
    const cache = new TrackingDomainCache(source, { refreshMs: 50, onRefreshError: (e) => errors.push(e) });
    await cache.start();
    try {
      expect(await hosts(cache, server.token)).toEqual(['click.a.example']);

      await domains.update('click.a.example', { trackOpens: false });
      await until(async () => (await cache.domainsOf(server.token))?.[0]?.trackOpens === false, 'the periodic refresh');

      failing = true;
      await until(() => errors.length >= 2, 'failed refreshes');
      expect(await hosts(cache, server.token)).toEqual(['click.a.example']);

      failing = false;
      await domains.add({ host: 'click.b.example', server: server.token });
      await until(async () => (await cache.domainsOf(server.token))?.length === 2, 'the refresh after the outage');
    } finally {
      await cache.stop();
    }
  });

  test('start fails when the first load fails', async () => {
    const cache = new TrackingDomainCache({ load: () => Promise.reject(new Error('down')) }, { refreshMs: 50 });
    await expect(cache.start()).rejects.toThrow('down');
  });

  test('with a 10-minute refresh, changes made through the repositories and in plain SQL reach it at once (LISTEN/NOTIFY)', async () => {
    const cache = new TrackingDomainCache(
      { load: () => loadTrackingSettings(temp.db) },
      { refreshMs: TEN_MINUTES, unknownServerRecheckMs: TEN_MINUTES, changes: new TrackingSettingsListener(temp.url) },
    );
    await cache.start();
    try {
      // Spends the one check of an unknown token the interval allows: only notifications can make the new server known.
      expect(await cache.domainsOf('nobody')).toBeUndefined();
      const server = await servers.create('notified');
      await until(async () => (await hosts(cache, server.token))?.length === 0, 'the new server');
      await domains.add({ host: 'click.notified.example', server: server.token });
      await until(async () => (await hosts(cache, server.token))?.[0] === 'click.notified.example', 'the added domain');
      await domains.update('click.notified.example', { trackClicks: false });
      await until(async () => (await cache.domainsOf(server.token))?.[0]?.trackClicks === false, 'the updated domain');
      await temp.db.updateTable('tracking_domains').set({ excluded_domains: ['example.org'] }).where('host', '=', 'click.notified.example').execute();
      await until(async () => (await cache.domainsOf(server.token))?.[0]?.excludedDomains[0] === 'example.org', 'the change in plain SQL');
      await domains.remove('click.notified.example');
      await until(async () => (await hosts(cache, server.token))?.length === 0, 'the removed domain');
    } finally {
      await cache.stop();
    }
  });

  test('a token not in memory is checked in the database before it is called unknown; a flood of bad tokens costs at most one reload per interval', async () => {
    let loads = 0;
    // No change notifications: only the check on a miss can find the new server.
    const cache = new TrackingDomainCache({ load: () => (loads++, loadTrackingSettings(temp.db)) }, { refreshMs: TEN_MINUTES, unknownServerRecheckMs: TEN_MINUTES });
    await cache.start();
    try {
      const created = await servers.create('a second ago');
      await domains.add({ host: 'click.just-created.example', server: created.token });
      expect(await hosts(cache, created.token)).toEqual(['click.just-created.example']);
      expect(loads).toBe(2);

      const bad = Array.from({ length: 200 }, (_, i) => `typo${i}`);
      expect(await Promise.all(bad.map((token) => cache.domainsOf(token)))).toEqual(bad.map(() => undefined));
      for (const token of bad) expect(await cache.domainsOf(token)).toBeUndefined();
      expect(loads).toBe(2);
    } finally {
      await cache.stop();
    }
  });

  test('a bad token asked for again and again is checked once', async () => {
    let loads = 0;
    const cache = new TrackingDomainCache({ load: () => (loads++, loadTrackingSettings(temp.db)) }, { refreshMs: TEN_MINUTES, unknownServerRecheckMs: 0 });
    await cache.start();
    try {
      for (let i = 0; i < 50; i++) expect(await cache.domainsOf('typo')).toBeUndefined();
      expect(loads).toBe(2);
    } finally {
      await cache.stop();
    }
  });
});

/** Settings whose loads the test releases one by one: each load reads `current` when it starts, as a query would. */
class GatedSource {
  current: TrackingSettings = { servers: ['srv'], domains: [] };
  loads = 0;
  private gates: Array<() => void> = [];
  gated = false;
  load = async (): Promise<TrackingSettings> => {
    const snapshot = this.current;
    this.loads++;
    if (this.gated) await new Promise<void>((resolve) => this.gates.push(resolve));
    return snapshot;
  };
  release(): void {
    this.gates.shift()?.();
  }
  get waiting(): number {
    return this.gates.length;
  }
}

/** A change feed the test fires by hand; `pendingOnSync` is a notification in transit, delivered before the sync's answer (as PostgreSQL does). */
class ManualChanges implements TrackingSettingsChanges {
  changed: () => void = () => {};
  pendingOnSync = false;
  async start(changed: () => void): Promise<void> {
    this.changed = changed;
  }
  async sync(): Promise<boolean> {
    await new Promise((resolve) => setImmediate(resolve));
    if (this.pendingOnSync) {
      this.pendingOnSync = false;
      this.changed();
    }
    return true;
  }
  async stop(): Promise<void> {}
}

const domain = (host: string) => ({ id: 1, server: 'srv', host, ssl: true, trackClicks: true, trackOpens: true, excludedDomains: [], verification: { status: 'unchecked' as const, message: null, checkedAt: null }, updatedAt: new Date() });

test('a change announced while a reload runs (which may have read before it) is loaded after it; messages wait for it', async () => {
  const source = new GatedSource();
  const changes = new ManualChanges();
  const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, changes });
  await cache.start();
  try {
    source.gated = true;
    changes.changed(); // a first change: its reload reads the settings, then takes its time
    await until(() => source.waiting === 1, 'the first reload to read');
    source.current = { servers: ['srv'], domains: [domain('click.late.example')] };
    changes.changed(); // a second change commits while the first reload is in flight
    const asked = cache.domainsOf('srv');
    source.release();
    await until(() => source.waiting === 1, 'the second reload');
    expect(source.loads).toBe(3);
    source.release();
    expect((await asked)?.map((d) => d.host)).toEqual(['click.late.example']);
  } finally {
    await cache.stop();
  }
});

test('a message syncs with the notifications first: a change still in transit when it is asked for is used', async () => {
  const source = new GatedSource();
  const changes = new ManualChanges();
  const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, changes });
  await cache.start();
  try {
    source.current = { servers: ['srv'], domains: [domain('click.in-transit.example')] };
    changes.pendingOnSync = true;
    expect((await cache.domainsOf('srv'))?.map((d) => d.host)).toEqual(['click.in-transit.example']);
  } finally {
    await cache.stop();
  }
});

test('a reload that hangs delays messages by at most freshnessWaitMs, and only once', async () => {
  const source = new GatedSource();
  const changes = new ManualChanges();
  const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, changes, freshnessWaitMs: 200 });
  await cache.start();
  try {
    source.gated = true;
    changes.changed();
    const started = performance.now();
    expect(await cache.domainsOf('srv')).toEqual([]);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    const again = performance.now();
    expect(await cache.domainsOf('srv')).toEqual([]);
    expect(performance.now() - again).toBeLessThan(150);
  } finally {
    source.release();
    await cache.stop();
  }
});

test('after a PostgreSQL restart it reloads (notifications were missed) and still hears changes at once', async () => {
  const postgres = await OwnPostgres.start();
  const url = postgres.url('mailbeacon_cache');
  const db = await openDatabase(url, { maxConnections: 2 });
  const cache = new TrackingDomainCache({ load: () => loadTrackingSettings(db) }, { refreshMs: TEN_MINUTES, changes: new TrackingSettingsListener(url, { retryMs: 50, maxRetryMs: 500 }) });
  try {
    await cache.start();
    const server = await new ServerRepository(db).create('s');
    await until(async () => (await hosts(cache, server.token))?.length === 0, 'the server');
    const beforeRestart = new Date();
    await postgres.restart();
    await until(() => (cache.lastLoadedAt ?? new Date(0)) > beforeRestart, 'the reload after the reconnection');
    await new TrackingDomainRepository(db).add({ host: 'click.restart.example', server: server.token });
    await until(async () => (await hosts(cache, server.token))?.[0] === 'click.restart.example', 'the domain added after the restart');
  } finally {
    await cache.stop();
    await db.destroy();
    await postgres.destroy();
  }
}, 90_000);
