import { sql, type Kysely } from 'kysely';

/*
 * Every change to servers or tracking domains that the rewriter uses is announced on a
 * notification channel, whoever makes it (the CLI, the admin API, psql): running rewriters
 * reload their settings at once instead of at their next periodic refresh. The notification is
 * sent when the transaction commits (never for one rolled back); the payload is only the
 * table's name, listeners reload everything (PostgreSQL folds the identical notifications of
 * one transaction into one).
 *
 * A reload costs every rewriter a full read and holds up the messages that wait for it, so only
 * what changes their choice is announced: rows added or removed (a truncate too), and updates
 * of the columns loadTrackingSettings hands on and the rewriter reads. For servers that is the
 * token and the id the domains point at, not the name (`servers rename`); for tracking domains
 * the owner, the host and the tracking settings, not the check results (`domains check`, which
 * monitoring may run often) nor updated_at. A statement that changes no row announces nothing.
 *
 * The channel name is repeated in tracking-settings-listener.ts (TRACKING_SETTINGS_CHANNEL);
 * a migration never imports code that may change after it ran.
 */
const USED_COLUMNS = {
  servers: ['id', 'token'],
  tracking_domains: ['server_id', 'host', 'ssl', 'track_clicks', 'track_opens', 'excluded_domains'],
} as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function mailbeacon_tracking_settings_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('mailbeacon_tracking_settings', tg_table_name);
      return null;
    end
    $$`.execute(db);
  for (const [table, columns] of Object.entries(USED_COLUMNS)) {
    const row = (version: 'old' | 'new') => sql.join(columns.map((column) => sql.ref(`${version}.${column}`)));
    await sql`
      create trigger ${sql.id(`${table}_rows_changed`)}
      after insert or delete on ${sql.table(table)}
      for each row execute function mailbeacon_tracking_settings_changed()`.execute(db);
    await sql`
      create trigger ${sql.id(`${table}_used_columns_updated`)}
      after update on ${sql.table(table)}
      for each row when ((${row('old')}) is distinct from (${row('new')}))
      execute function mailbeacon_tracking_settings_changed()`.execute(db);
    // Truncate has no row-level trigger.
    await sql`
      create trigger ${sql.id(`${table}_truncated`)}
      after truncate on ${sql.table(table)}
      for each statement execute function mailbeacon_tracking_settings_changed()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of Object.keys(USED_COLUMNS)) {
    for (const trigger of [`${table}_rows_changed`, `${table}_used_columns_updated`, `${table}_truncated`]) {
      await sql`drop trigger ${sql.id(trigger)} on ${sql.table(table)}`.execute(db);
    }
  }
  await sql`drop function mailbeacon_tracking_settings_changed()`.execute(db);
}
