import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ServerHasApiKeysError } from './api-keys';
import type { Database, ServerRow } from './schema';

/** A sending tenant of the mail platform. */
export interface Server {
  id: number;
  name: string;
  token: string;
  createdAt: Date;
}

const toServer = (row: ServerRow): Server => ({ id: row.id, name: row.name, token: row.token, createdAt: row.created_at });

/**
 * 72 random bits in 12 URL-safe characters: short enough for every tracking URL. It starts
 * with a letter or digit, so it can follow a command-line option (`--server -x…` would read
 * as another option).
 */
export function newServerToken(): string {
  for (;;) {
    const token = randomBytes(9).toString('base64url');
    if (/^[A-Za-z0-9]/.test(token)) return token;
  }
}

/** A server still owning tracking domains is not removed: its links would stop being tracked. */
export class ServerHasDomainsError extends Error {
  override readonly name = 'ServerHasDomainsError';

  constructor(
    readonly token: string,
    readonly hosts: string[],
  ) {
    super(`server ${token} still has tracking domains (${hosts.join(', ')}): remove them first`);
  }
}

export class ServerRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async create(name: string): Promise<Server> {
    const row = await this.db.insertInto('servers').values({ name, token: newServerToken() }).returningAll().executeTakeFirstOrThrow();
    return toServer(row);
  }

  async list(): Promise<Server[]> {
    return (await this.db.selectFrom('servers').selectAll().orderBy('id').execute()).map(toServer);
  }

  async findByToken(token: string): Promise<Server | undefined> {
    const row = await this.db.selectFrom('servers').selectAll().where('token', '=', token).executeTakeFirst();
    return row && toServer(row);
  }

  /** Returns the renamed server, or undefined when no server has this token. */
  async rename(token: string, name: string): Promise<Server | undefined> {
    const row = await this.db.updateTable('servers').set({ name }).where('token', '=', token).returningAll().executeTakeFirst();
    return row && toServer(row);
  }

  /**
   * Removes a server without tracking domains and without API keys in force (its revoked keys
   * go with it); false when no server has this token. The row is locked first: a domain or a
   * key being added for it (its foreign key check holds a share lock) either commits before,
   * and is seen here, or waits and then finds no server.
   */
  async remove(token: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const server = await trx.selectFrom('servers').select('id').where('token', '=', token).forUpdate().executeTakeFirst();
      if (!server) return false;
      const domains = await trx.selectFrom('tracking_domains').select('host').where('server_id', '=', server.id).orderBy('host').execute();
      if (domains.length > 0) throw new ServerHasDomainsError(token, domains.map((domain) => domain.host));
      const keys = await trx.selectFrom('api_keys').select(['id', 'name', 'prefix']).where('server_id', '=', server.id).where('revoked_at', 'is', null).orderBy('id').execute();
      if (keys.length > 0) throw new ServerHasApiKeysError(token, keys);
      await trx.deleteFrom('servers').where('id', '=', server.id).execute();
      return true;
    });
  }
}
