import { ServerRepository, TrackingDomainRepository } from '@mailbeacon/db';
import { temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { TrackingDomainCache } from '../src/tracking-domain-cache';

const until = async (condition: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('TrackingDomainCache (real Postgres)', () => {
  let temp: TemporaryDatabase;
  beforeAll(async () => {
    temp = await temporaryDatabase();
  });
  afterAll(() => temp.drop());

  test('serves from memory, picks up changes within the refresh time, keeps the last good copy when Postgres fails', async () => {
    const servers = new ServerRepository(temp.db);
    const domains = new TrackingDomainRepository(temp.db);
    const server = await servers.create('s');
    await domains.add({ host: 'click.a.example', server: server.token });

    let failing = false;
    const errors: unknown[] = [];
    const source = { list: () => (failing ? Promise.reject(new Error('connection refused')) : domains.list()) };
    const cache = new TrackingDomainCache(source, { refreshMs: 50, onRefreshError: (e) => errors.push(e) });
    await cache.start();
    try {
      expect(cache.forServer(server.token).map((d) => d.host)).toEqual(['click.a.example']);
      expect(cache.forServer('other')).toEqual([]);

      await domains.update('click.a.example', { trackOpens: false });
      await until(() => cache.forServer(server.token)[0]?.trackOpens === false);

      failing = true;
      await until(() => errors.length >= 2);
      expect(cache.forServer(server.token).map((d) => d.host)).toEqual(['click.a.example']);

      failing = false;
      await domains.add({ host: 'click.b.example', server: server.token });
      await until(() => cache.forServer(server.token).length === 2);
    } finally {
      cache.stop();
    }
  });

  test('start fails when the first load fails', async () => {
    const cache = new TrackingDomainCache({ list: () => Promise.reject(new Error('down')) }, { refreshMs: 50 });
    await expect(cache.start()).rejects.toThrow('down');
  });
});
