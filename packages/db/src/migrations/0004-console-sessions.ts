import { sql, type Kysely } from 'kysely';

/*
 * The console's login sessions. The browser holds a random id; only its SHA-256 is stored, so
 * a read of this table (a backup, a replica) cannot be replayed as a cookie. Kept in
 * PostgreSQL, not in the admin process: a restart logs nobody out, logout ends a session
 * everywhere, and several admin processes share them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .addColumn('id_hash', 'bytea', (c) => c.primaryKey())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Expired sessions are swept by age.
  await db.schema.createIndex('console_sessions_last_seen_at').on('console_sessions').column('last_seen_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('console_sessions').execute();
}
