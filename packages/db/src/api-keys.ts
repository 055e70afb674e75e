import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { ApiKeyRow, Database } from './schema';
import { UnknownServerError } from './tracking-domains';

/*
 * Server-scoped, read-only keys for the statistics API: a platform hands one to a customer,
 * who can read that server's numbers and nothing else (the admin app enforces the scope).
 *
 * A key is `mbk_` and 32 random bytes (base64url): it names no server, so a leaked key says
 * nothing about whose it is. Only its SHA-256 is stored. A slow password hash (bcrypt, scrypt)
 * exists to make guessing low-entropy secrets expensive; against 256 random bits guessing is
 * hopeless anyway, and a fast hash lets every request be checked with one index lookup.
 */

export const API_KEY_PREFIX = 'mbk_';
/** `mbk_` and 43 base64url characters (32 bytes). */
export const API_KEY_PATTERN = /^mbk_[A-Za-z0-9_-]{43}$/;
/** How much of a key is kept in clear to recognise it in lists: `mbk_` and 8 characters (48 of its 256 bits). */
const SHOWN_PREFIX_LENGTH = API_KEY_PREFIX.length + 8;
/** last_used_at is written at most this often per key, not on every request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export interface ApiKey {
  id: number;
  /** The server whose numbers it reads (its token). */
  server: string;
  name: string | null;
  /** The key's first characters, to recognise it: `mbk_AbCd1234`. */
  prefix: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** A key just made: the only time `key` itself exists outside the client's hands. */
export interface CreatedApiKey {
  apiKey: ApiKey;
  key: string;
}

/** A server is not removed while keys given out for it still work: their holders would silently lose access. */
export class ServerHasApiKeysError extends Error {
  override readonly name = 'ServerHasApiKeysError';

  constructor(
    readonly token: string,
    readonly keys: Pick<ApiKey, 'id' | 'name' | 'prefix'>[],
  ) {
    const listed = keys.map((key) => `${key.id} ${key.prefix}…${key.name === null ? '' : ` "${key.name}"`}`).join(', ');
    super(`server ${token} still has API keys in force (${listed}): revoke them first`);
  }
}

export const hashApiKey = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

export function newApiKey(): string {
  return `${API_KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

type Row = ApiKeyRow & { server_token: string };

const toApiKey = (row: Row): ApiKey => ({
  id: row.id,
  server: row.server_token,
  name: row.name,
  prefix: row.prefix,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
  revokedAt: row.revoked_at,
});

export class ApiKeyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private select() {
    return this.db.selectFrom('api_keys').innerJoin('servers', 'servers.id', 'api_keys.server_id').selectAll('api_keys').select('servers.token as server_token');
  }

  private async findById(id: number): Promise<ApiKey | undefined> {
    const row = await this.select().where('api_keys.id', '=', id).executeTakeFirst();
    return row && toApiKey(row);
  }

  /** Makes a key for the server; the key is returned here once and never again. */
  async create(server: string, name: string | null = null): Promise<CreatedApiKey> {
    const found = await this.db.selectFrom('servers').select('id').where('token', '=', server).executeTakeFirst();
    if (!found) throw new UnknownServerError(`no server with token ${server}`);
    const key = newApiKey();
    let id: number;
    try {
      ({ id } = await this.db
        .insertInto('api_keys')
        .values({ server_id: found.id, name, key_hash: hashApiKey(key), prefix: key.slice(0, SHOWN_PREFIX_LENGTH) })
        .returning('id')
        .executeTakeFirstOrThrow());
    } catch (error) {
      // The server was removed between the lookup above and the insert.
      if ((error as { code?: string }).code === '23503') throw new UnknownServerError(`no server with token ${server}`);
      throw error;
    }
    return { apiKey: (await this.findById(id))!, key };
  }

  /** Every key, revoked ones included (newest last); only one server's when given. */
  async list(server?: string): Promise<ApiKey[]> {
    let query = this.select().orderBy('api_keys.id');
    if (server !== undefined) query = query.where('servers.token', '=', server);
    return (await query.execute()).map(toApiKey);
  }

  /**
   * Revokes a key (again: its first revocation time stays); undefined when there is no such
   * key, or it is not the given server's.
   */
  async revoke(id: number, server?: string): Promise<ApiKey | undefined> {
    let query = this.db
      .updateTable('api_keys')
      .set({ revoked_at: sql<Date>`coalesce(revoked_at, now())` })
      .where('id', '=', id);
    if (server !== undefined) query = query.where('server_id', '=', this.db.selectFrom('servers').select('id').where('token', '=', server));
    const result = await query.executeTakeFirst();
    return result.numUpdatedRows > 0n ? this.findById(id) : undefined;
  }

  /**
   * The key a client presented, revoked or not (the caller says which); undefined when no key
   * has this value. Found by its hash's index entry only: nothing compares the secret itself
   * byte by byte. Records the use, at most once a minute per key.
   */
  async findByKey(key: string, now = new Date()): Promise<ApiKey | undefined> {
    if (!API_KEY_PATTERN.test(key)) return undefined;
    const row = await this.select().where('api_keys.key_hash', '=', hashApiKey(key)).executeTakeFirst();
    if (!row) return undefined;
    const apiKey = toApiKey(row);
    if (apiKey.revokedAt === null && (apiKey.lastUsedAt === null || now.getTime() - apiKey.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS)) {
      await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', apiKey.id).execute();
      apiKey.lastUsedAt = now;
    }
    return apiKey;
  }
}
