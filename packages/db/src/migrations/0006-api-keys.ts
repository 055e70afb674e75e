import { sql, type Kysely } from 'kysely';

/*
 * Read-only API keys for a server's statistics (see api-keys.ts). Only a SHA-256 of each key is
 * kept, unique (the lookup is one index probe), with a short prefix so an operator can tell
 * keys apart. A server with keys still in force cannot be removed (servers.ts refuses, as it
 * does for tracking domains); its revoked keys go with it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table api_keys (
      id serial primary key,
      server_id integer not null references servers (id) on delete cascade,
      name text,
      key_hash bytea not null unique check (length(key_hash) = 32),
      prefix text not null,
      created_at timestamptz not null default now(),
      last_used_at timestamptz,
      revoked_at timestamptz
    )`.execute(db);
  await sql`create index api_keys_server_id on api_keys (server_id)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table api_keys`.execute(db);
}
