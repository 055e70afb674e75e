import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('servers')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('tracking_domains')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('server_id', 'integer', (c) => c.notNull().references('servers.id').onDelete('cascade'))
    .addColumn('host', 'text', (c) => c.notNull().unique())
    .addColumn('ssl', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('track_clicks', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('track_opens', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('excluded_domains', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'::text[]`))
    .addColumn('verification_status', 'text', (c) => c.notNull().defaultTo('unchecked').check(sql`verification_status in ('unchecked', 'ok', 'failed')`))
    .addColumn('verification_message', 'text')
    .addColumn('checked_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema.createIndex('tracking_domains_server_id').on('tracking_domains').column('server_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tracking_domains').execute();
  await db.schema.dropTable('servers').execute();
}
