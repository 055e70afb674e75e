import { sql, type Kysely } from 'kysely';

/*
 * Rollups the stats API reads instead of scanning the raw events (2,000,000 messages over
 * 90 days must answer in well under 150 ms). The aggregator writes both in the batch's
 * transaction, attributed like hourly_stats (by the message's tracking domain and tag, once
 * its message event arrived).
 *
 * link_daily_stats: clicks per URL across messages, per UTC day of the click. Keyed by the
 * URL's md5 (as a uuid: 16 bytes that compare fast when top links group by it; text md5s in
 * a collation made grouping 90 days the slowest query): a URL may be 8,000 characters, more
 * than a btree key holds.
 * machine_daily_stats: machine opens and clicks per reason and UTC day of the hit. Per day, not
 * per hour: every reason in every hour for every tag and domain was 24 times the rows, the
 * slowest read of a 90-day summary and the costliest upsert of a batch.
 *
 * Backfill, so existing data shows: link_daily_stats from link_stats (its counts, on the day
 * of the link's first click: the only day it keeps); machine_daily_stats from the raw
 * events still kept (retention may have dropped older days).
 *
 * The backfill reads what is stored when it runs, so every aggregator must be stopped first:
 * an older one writes hits to hourly_stats only, and those never reach the rollups (the
 * upgrade step is in infra/README.md, "Upgrading"). It runs at start-up in the migration's
 * transaction; measured at about 11 s per million link_stats rows and 1.5 s per million raw
 * events on a busy 2-core machine.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table link_daily_stats (
      server text not null,
      tracking_domain text not null,
      tag text not null,
      day timestamptz not null,
      url_md5 uuid not null,
      url text not null,
      clicks bigint not null default 0,
      human_clicks bigint not null default 0,
      primary key (server, tracking_domain, tag, day, url_md5)
    )`.execute(db);
  await sql`create index link_daily_stats_server_day on link_daily_stats (server, day)`.execute(db);

  await sql`
    create table machine_daily_stats (
      server text not null,
      tracking_domain text not null,
      tag text not null,
      day timestamptz not null,
      kind text not null check (kind in ('open', 'click')),
      reason text not null,
      hits bigint not null default 0,
      primary key (server, tracking_domain, tag, day, kind, reason)
    )`.execute(db);
  await sql`create index machine_daily_stats_server_day on machine_daily_stats (server, day)`.execute(db);

  await sql`
    insert into link_daily_stats (server, tracking_domain, tag, day, url_md5, url, clicks, human_clicks)
    select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('day', l.first_clicked_at, 'UTC'), md5(l.url)::uuid, min(l.url),
           sum(l.clicks), sum(l.human_clicks)
    from link_stats l join messages m on m.token = l.message_token
    where m.platform_message_id is not null and l.first_clicked_at is not null
    group by 1, 2, 3, 4, 5`.execute(db);

  await sql`
    insert into machine_daily_stats (server, tracking_domain, tag, day, kind, reason, hits)
    select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('day', e.at, 'UTC'), e.kind, coalesce(e.machine_reason, 'unknown'), count(*)
    from (select message_token, at, machine_reason, 'open' as kind from opens where machine
          union all
          select message_token, at, machine_reason, 'click' from clicks where machine) e
    join messages m on m.token = e.message_token
    where m.platform_message_id is not null
    group by 1, 2, 3, 4, 5, 6`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table machine_daily_stats`.execute(db);
  await sql`drop table link_daily_stats`.execute(db);
}
