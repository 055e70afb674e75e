import { sql, type Kysely } from 'kysely';

/*
 * What the aggregator writes and dashboards read (see the README's "Statistics tables").
 *
 * Raw opens and clicks are partitioned by day on `at` (the partitions are created by the
 * aggregator as events arrive, and dropped by retention). A partitioned table's unique keys
 * must include the partition key, hence (id, at): an event is redelivered with the same id
 * and the same `at`, so the pair is as unique as the id.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table messages (
      token text primary key,
      server text not null,
      -- null until the rewriter's message event arrives (opens/clicks may come first)
      platform_message_id text,
      recipient text,
      tag text,
      tracking_domain text,
      link_count integer,
      pixel boolean,
      sent_at timestamptz,
      opens integer not null default 0,
      human_opens integer not null default 0,
      clicks integer not null default 0,
      human_clicks integer not null default 0,
      first_opened_at timestamptz,
      last_opened_at timestamptz,
      first_human_opened_at timestamptz,
      first_clicked_at timestamptz,
      last_clicked_at timestamptz,
      first_human_clicked_at timestamptz,
      updated_at timestamptz not null default now()
    )`.execute(db);
  await sql`create index messages_server_sent_at on messages (server, sent_at)`.execute(db);
  await sql`create index messages_platform_message_id on messages (server, platform_message_id)`.execute(db);

  await sql`
    create table opens (
      id uuid not null,
      at timestamptz not null,
      message_token text not null,
      server text not null,
      ip text,
      user_agent text,
      method text not null,
      purpose text,
      proxy text,
      machine boolean not null,
      machine_reason text,
      primary key (id, at)
    ) partition by range (at)`.execute(db);
  await sql`create index opens_message_token_at on opens (message_token, at)`.execute(db);

  await sql`
    create table clicks (
      id uuid not null,
      at timestamptz not null,
      message_token text not null,
      server text not null,
      link_index integer not null,
      url text not null,
      ip text,
      user_agent text,
      method text not null,
      purpose text,
      machine boolean not null,
      machine_reason text,
      primary key (id, at)
    ) partition by range (at)`.execute(db);
  await sql`create index clicks_message_token_at on clicks (message_token, at)`.execute(db);

  await sql`
    create table link_stats (
      message_token text not null,
      link_index integer not null,
      url text not null,
      clicks integer not null default 0,
      human_clicks integer not null default 0,
      first_clicked_at timestamptz,
      last_clicked_at timestamptz,
      primary key (message_token, link_index)
    )`.execute(db);

  await sql`
    create table hourly_stats (
      server text not null,
      tracking_domain text not null,
      -- '' for messages without a tag (a key column cannot be null)
      tag text not null,
      hour timestamptz not null,
      messages bigint not null default 0,
      opens bigint not null default 0,
      unique_opens bigint not null default 0,
      clicks bigint not null default 0,
      unique_clicks bigint not null default 0,
      human_opens bigint not null default 0,
      human_unique_opens bigint not null default 0,
      human_clicks bigint not null default 0,
      human_unique_clicks bigint not null default 0,
      primary key (server, tracking_domain, tag, hour)
    )`.execute(db);
  await sql`create index hourly_stats_server_hour on hourly_stats (server, hour)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['hourly_stats', 'link_stats', 'clicks', 'opens', 'messages']) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
