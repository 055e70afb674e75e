import { sql, type Kysely } from 'kysely';

/*
 * Every change to servers or tracking domains is announced on a notification channel, whoever
 * makes it (the CLI, the admin API, psql): running rewriters reload their settings at once
 * instead of at their next periodic refresh. The notification is sent when the transaction
 * commits (never for one rolled back), once per statement: the payload is only the table's
 * name, listeners reload everything.
 *
 * The channel name is repeated in tracking-settings-listener.ts (TRACKING_SETTINGS_CHANNEL);
 * a migration never imports code that may change after it ran.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function mailbeacon_tracking_settings_changed() returns trigger language plpgsql as $$
    begin
      perform pg_notify('mailbeacon_tracking_settings', tg_table_name);
      return null;
    end
    $$`.execute(db);
  for (const table of ['servers', 'tracking_domains']) {
    await sql`
      create trigger ${sql.id(`${table}_changed`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function mailbeacon_tracking_settings_changed()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['servers', 'tracking_domains']) await sql`drop trigger ${sql.id(`${table}_changed`)} on ${sql.table(table)}`.execute(db);
  await sql`drop function mailbeacon_tracking_settings_changed()`.execute(db);
}
