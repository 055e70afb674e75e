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
      // Spends the one check of an unknown token the interval would allow without the listener: only notifications can make the new server known.
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

  test('the first message after the change that serves it uses it, every time: a domain added, a server created with its domain', async () => {
    const listener = new TrackingSettingsListener(temp.url);
    let syncs = 0;
    const changes: TrackingSettingsChanges = { start: (changed) => listener.start(changed), sync: () => (syncs++, listener.sync()), stop: () => listener.stop() };
    // Nothing else could make the changes known in time: no periodic refresh, no reload for an unknown token.
    const cache = new TrackingDomainCache({ load: () => loadTrackingSettings(temp.db) }, { refreshMs: TEN_MINUTES, unknownServerRecheckMs: TEN_MINUTES, changes });
    await cache.start();
    try {
      const existing = await servers.create('existing');
      for (let i = 0; i < 25; i++) {
        // Asked for in the very tick the commit is confirmed (domains.add would read the row back
        // first, time for the notification to arrive): it cannot have been read yet.
        await temp.db.insertInto('tracking_domains').values({ server_id: existing.id, host: `click.ryw${i}.example`, verification_message: null, checked_at: null }).execute();
        expect((await cache.trackingDomainFor(existing.token, `ryw${i}.example`))?.domain?.host).toBe(`click.ryw${i}.example`);

        const created = await temp.db.transaction().execute(async (trx) => {
          const server = await new ServerRepository(trx).create(`created ${i}`);
          await new TrackingDomainRepository(trx).add({ host: `click.created${i}.example`, server: server.token });
          return server;
        });
        expect((await cache.trackingDomainFor(created.token, `created${i}.example`))?.domain?.host).toBe(`click.created${i}.example`);

        // Found in memory from now on: no more syncs.
        const syncsBefore = syncs;
        expect((await cache.trackingDomainFor(created.token, `created${i}.example`))?.domain).toBeDefined();
        expect((await cache.trackingDomainFor(existing.token, `ryw${i}.example`))?.domain).toBeDefined();
        expect(syncs).toBe(syncsBefore);
      }
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
  listening = true;
  syncs = 0;
  async start(changed: () => void): Promise<void> {
    this.changed = changed;
  }
  async sync(): Promise<boolean> {
    this.syncs++;
    await new Promise((resolve) => setImmediate(resolve));
    if (this.pendingOnSync) {
      this.pendingOnSync = false;
      this.changed();
    }
    return this.listening;
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
    const asked = cache.trackingDomainFor('srv', 'late.example');
    source.release();
    await until(() => source.waiting === 1, 'the second reload');
    expect(source.loads).toBe(3);
    source.release();
    expect((await asked)?.domain?.host).toBe('click.late.example');
  } finally {
    await cache.stop();
  }
});

test('a message that finds its tracking domain is answered from memory, without a sync or a wait', async () => {
  const source = new GatedSource();
  source.current = { servers: ['srv'], domains: [domain('click.shop.example')] };
  const changes = new ManualChanges();
  const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, changes });
  await cache.start();
  try {
    source.gated = true;
    changes.changed(); // a reload in flight (that never ends): a message that finds its domain does not wait for it
    for (let i = 0; i < 100; i++) {
      expect((await cache.trackingDomainFor('srv', 'shop.example'))?.domain?.host).toBe('click.shop.example');
      expect((await cache.domainsOf('srv'))?.length).toBe(1);
    }
    expect(changes.syncs).toBe(0);
  } finally {
    source.release();
    await cache.stop();
  }
});

test('a message that finds no tracking domain syncs with the notifications first: a change still in transit is used', async () => {
  const source = new GatedSource();
  const changes = new ManualChanges();
  const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, changes });
  await cache.start();
  try {
    expect(await cache.trackingDomainFor('srv', 'in-transit.example')).toEqual({ reason: expect.stringMatching(/^no-tracking-domain: /) });
    expect(changes.syncs).toBe(1);
    source.current = { servers: ['srv'], domains: [domain('click.in-transit.example')] };
    changes.pendingOnSync = true;
    expect((await cache.trackingDomainFor('srv', 'in-transit.example'))?.domain?.host).toBe('click.in-transit.example');
    expect(changes.syncs).toBe(2);
  } finally {
    await cache.stop();
  }
});

test('an unknown token: while listening the sync decides (no reload); when it cannot be done, a reload does', async () => {
  const source = new GatedSource();
  const changes = new ManualChanges();
  const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, unknownServerRecheckMs: 0, changes });
  await cache.start();
  try {
    const loads = source.loads;
    expect(await cache.domainsOf('typo')).toBeUndefined();
    expect([changes.syncs, source.loads]).toEqual([1, loads]);
    // Found unknown: not synced for again until the next reload.
    expect(await cache.domainsOf('typo')).toBeUndefined();
    expect(changes.syncs).toBe(1);

    changes.listening = false;
    source.current = { servers: ['srv', 'created-meanwhile'], domains: [] };
    expect(await cache.domainsOf('created-meanwhile')).toEqual([]);
    expect([changes.syncs, source.loads]).toEqual([2, loads + 1]);
  } finally {
    await cache.stop();
  }
});

describe('bounded waits (fake clock)', () => {
  beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
  afterEach(() => jest.useRealTimers());

  /** Whether `promise` settles while the fake clock stands still. */
  const settlesWithoutTime = async (promise: Promise<unknown>) => {
    let settled = false;
    void promise.finally(() => (settled = true));
    for (let i = 0; i < 20 && !settled; i++) await new Promise((resolve) => setImmediate(resolve));
    return settled;
  };

  test('a reload that hangs holds up a message that finds nothing for freshnessWaitMs, then the last good copy is used; the next ones are not held up', async () => {
    const source = new GatedSource();
    const changes = new ManualChanges();
    const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, changes, freshnessWaitMs: 200 });
    await cache.start();
    try {
      source.gated = true;
      changes.changed();
      const first = cache.trackingDomainFor('srv', 'example.com');
      expect(await settlesWithoutTime(first)).toBe(false);
      await jest.advanceTimersByTimeAsync(200);
      expect(await first).toEqual({ reason: expect.stringMatching(/^no-tracking-domain: /) });
      // The hanging reload is not waited for again: the next messages are answered as soon as they are synced.
      for (let i = 0; i < 3; i++) expect(await settlesWithoutTime(cache.trackingDomainFor('srv', 'example.com'))).toBe(true);
      expect(changes.syncs).toBe(4);
    } finally {
      source.release();
      await cache.stop();
    }
  });

  test('a sync that hangs holds up one round of messages for freshnessWaitMs; later ones do not wait for it', async () => {
    const source = new GatedSource();
    const changes = new ManualChanges();
    const hanging = new Promise<boolean>(() => {});
    changes.sync = () => (changes.syncs++, hanging);
    const cache = new TrackingDomainCache(source, { refreshMs: TEN_MINUTES, changes, freshnessWaitMs: 200 });
    await cache.start();
    try {
      const round = [cache.domainsOf('a'), cache.trackingDomainFor('srv', 'example.com')];
      expect(await settlesWithoutTime(Promise.race(round))).toBe(false);
      await jest.advanceTimersByTimeAsync(200);
      await Promise.all(round);
      expect(await settlesWithoutTime(cache.trackingDomainFor('srv', 'example.com'))).toBe(true);
      expect(changes.syncs).toBe(1);
    } finally {
      await cache.stop();
    }
  });
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
