import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
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
}
