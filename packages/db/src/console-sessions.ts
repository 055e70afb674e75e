import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema';

/** How long a console session lasts: `idleMs` since its last request, `maxAgeMs` since login, whichever ends first. */
export interface SessionLimits {
  idleMs: number;
  maxAgeMs: number;
}

/** The stored form of a session id: a leaked table row is not a cookie. */
const hashOf = (id: string): Buffer => createHash('sha256').update(id, 'utf8').digest();

/** Ages are compared with PostgreSQL's clock only, so several admin processes agree on expiry. */
const ago = (ms: number) => sql<Date>`now() - make_interval(secs => ${ms / 1000})`;

/** The console's login sessions (see migration 0004): the caller holds the id, the table its hash. */
export class ConsoleSessionRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly limits: SessionLimits,
  ) {}

  /** Starts a session and returns its id (256 random bits, URL-safe) for the cookie; sweeps expired ones on the way. */
  async start(): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.sweep();
    await this.db.insertInto('console_sessions').values({ id_hash: hashOf(id) }).execute();
    return id;
  }

  /** True (and the idle clock restarted) when the session exists and has expired neither way. */
  async resume(id: string): Promise<boolean> {
    const row = await this.db
      .updateTable('console_sessions')
      .set({ last_seen_at: sql<Date>`now()` })
      .where('id_hash', '=', hashOf(id))
      .where('last_seen_at', '>', ago(this.limits.idleMs))
      .where('created_at', '>', ago(this.limits.maxAgeMs))
      .returning('created_at')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** Ends a session (logout); false when there was none. */
  async end(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('console_sessions').where('id_hash', '=', hashOf(id)).executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Deletes the sessions that can no longer be resumed; returns how many. */
  async sweep(): Promise<number> {
    const result = await this.db
      .deleteFrom('console_sessions')
      .where((eb) => eb.or([eb('last_seen_at', '<=', ago(this.limits.idleMs)), eb('created_at', '<=', ago(this.limits.maxAgeMs))]))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
