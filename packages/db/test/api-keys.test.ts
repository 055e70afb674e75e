import { temporaryDatabase, type TemporaryDatabase } from '@mailbeacon/testing';
import { ApiKeyRepository, hashApiKey, LAST_USED_RESOLUTION_MS, ServerHasApiKeysError } from '../src/api-keys';
import { ServerHasDomainsError, ServerRepository } from '../src/servers';
import { TrackingDomainRepository, UnknownServerError } from '../src/tracking-domains';

let temp: TemporaryDatabase;
let servers: ServerRepository;
let keys: ApiKeyRepository;
beforeAll(async () => {
  temp = await temporaryDatabase();
  servers = new ServerRepository(temp.db);
  keys = new ApiKeyRepository(temp.db);
});
afterAll(() => temp.drop());

describe('API keys', () => {
  test('a new key is mbk_ and 32 random bytes, returned once; only its SHA-256 and a short prefix are stored', async () => {
    const server = await servers.create('Keyed');
    const { key, apiKey } = await keys.create(server.token, 'dashboard');
    expect(key).toMatch(/^mbk_[A-Za-z0-9_-]{43}$/);
    expect(apiKey).toEqual({ id: expect.any(Number), server: server.token, name: 'dashboard', prefix: key.slice(0, 12), createdAt: expect.any(Date), lastUsedAt: null, revokedAt: null });
    // The server's token is not in the key: a leaked key does not say whose it is.
    expect(key).not.toContain(server.token);

    const [row] = await temp.db.selectFrom('api_keys').selectAll().where('id', '=', apiKey.id).execute();
    expect(row.key_hash.equals(hashApiKey(key))).toBe(true);
    expect(JSON.stringify(row)).not.toContain(key.slice(12));

    const other = await keys.create(server.token);
    expect(other.key).not.toBe(key);
    expect(other.apiKey.name).toBeNull();
    expect((await keys.list(server.token)).map((k) => k.id)).toEqual([apiKey.id, other.apiKey.id]);
  });

  test('findByKey finds the key by its value only; unknown or malformed values find nothing', async () => {
    const server = await servers.create('Lookup');
    const { key, apiKey } = await keys.create(server.token);
    expect(await keys.findByKey(key)).toMatchObject({ id: apiKey.id, server: server.token, revokedAt: null });
    expect(await keys.findByKey(`${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(await keys.findByKey(apiKey.prefix)).toBeUndefined();
    expect(await keys.findByKey('mbk_\u0000')).toBeUndefined();
  });

  test('last_used_at is written on first use, then at most once a minute', async () => {
    const server = await servers.create('Used');
    const { key, apiKey } = await keys.create(server.token);
    const lastUsed = async () => (await temp.db.selectFrom('api_keys').select('last_used_at').where('id', '=', apiKey.id).executeTakeFirstOrThrow()).last_used_at;
    const first = new Date('2030-01-01T00:00:00Z');
    expect((await keys.findByKey(key, first))?.lastUsedAt).toEqual(first);
    expect(await lastUsed()).toEqual(first);
    await keys.findByKey(key, new Date(first.getTime() + LAST_USED_RESOLUTION_MS - 1));
    expect(await lastUsed()).toEqual(first);
    const later = new Date(first.getTime() + LAST_USED_RESOLUTION_MS);
    await keys.findByKey(key, later);
    expect(await lastUsed()).toEqual(later);
  });

  test('revoke: once (a second revocation keeps the first time), only the server\'s own key, unknown ids revoke nothing', async () => {
    const a = await servers.create('Revoker A');
    const b = await servers.create('Revoker B');
    const { key, apiKey } = await keys.create(a.token);
    expect(await keys.revoke(apiKey.id, b.token)).toBeUndefined();
    expect((await keys.findByKey(key))?.revokedAt).toBeNull();

    const revoked = await keys.revoke(apiKey.id, a.token);
    expect(revoked?.revokedAt).toEqual(expect.any(Date));
    expect(await keys.revoke(apiKey.id)).toEqual(revoked);
    expect((await keys.findByKey(key))?.revokedAt).toEqual(revoked?.revokedAt);
    expect(await keys.revoke(999_999)).toBeUndefined();
  });

  test('a key for an unknown server is refused', async () => {
    await expect(keys.create('nosuchserver1')).rejects.toThrow(UnknownServerError);
  });

  test('a server is not removed while it has keys in force (named); once revoked they go with it', async () => {
    const server = await servers.create('Customer');
    const first = await keys.create(server.token, 'Acme dashboard');
    const second = await keys.create(server.token);
    const refusal = servers.remove(server.token);
    await expect(refusal).rejects.toThrow(ServerHasApiKeysError);
    await expect(refusal).rejects.toMatchObject({
      message: `server ${server.token} still has API keys in force (${first.apiKey.id} ${first.apiKey.prefix}… "Acme dashboard", ${second.apiKey.id} ${second.apiKey.prefix}…): revoke them first`,
    });

    await keys.revoke(first.apiKey.id);
    await expect(servers.remove(server.token)).rejects.toMatchObject({ keys: [{ id: second.apiKey.id, name: null, prefix: second.apiKey.prefix }] });
    await keys.revoke(second.apiKey.id);
    expect(await servers.remove(server.token)).toBe(true);
    expect(await keys.list(server.token)).toEqual([]);
    expect(await keys.findByKey(first.key)).toBeUndefined();
  });

  test('tracking domains are named first: they are what stops the mail being tracked', async () => {
    const server = await servers.create('Both');
    await keys.create(server.token);
    await new TrackingDomainRepository(temp.db).add({ host: 'click.both.example', server: server.token });
    await expect(servers.remove(server.token)).rejects.toThrow(ServerHasDomainsError);
  });
});
