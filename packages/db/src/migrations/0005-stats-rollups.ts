import { sql, type Kysely } from 'kysely';

/*
 * Rollups the stats API reads instead of scanning the raw events (2,000,000 messages over
 * 90 days must answer in well under 150 ms). The aggregator writes both in the batch's
 * transaction, attributed like hourly_stats (by the message's tracking domain and tag, once
 * its message event arrived).
 *
 * link_daily_stats: clicks per URL across messages, per UTC day of the click. Keyed by the
 * URL's md5: a URL may be 8,000 characters, more than a btree key holds.
 * machine_hourly_stats: machine opens and clicks per reason and hour of the hit.
 *
 * Backfill, so existing data shows: link_daily_stats from link_stats (its counts, on the day
 * of the link's first click: the only day it keeps); machine_hourly_stats from the raw
 * events still kept (retention may have dropped older days).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table link_daily_stats (
      server text not null,
      tracking_domain text not null,
      tag text not null,
      day timestamptz not null,
      url_md5 text not null,
      url text not null,
      clicks bigint not null default 0,
      human_clicks bigint not null default 0,
      primary key (server, tracking_domain, tag, day, url_md5)
    )`.execute(db);
  await sql`create index link_daily_stats_server_day on link_daily_stats (server, day)`.execute(db);

  await sql`
    create table machine_hourly_stats (
      server text not null,
      tracking_domain text not null,
      tag text not null,
      hour timestamptz not null,
      kind text not null check (kind in ('open', 'click')),
      reason text not null,
      hits bigint not null default 0,
      primary key (server, tracking_domain, tag, hour, kind, reason)
    )`.execute(db);
  await sql`create index machine_hourly_stats_server_hour on machine_hourly_stats (server, hour)`.execute(db);

  await sql`
    insert into link_daily_stats (server, tracking_domain, tag, day, url_md5, url, clicks, human_clicks)
    select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('day', l.first_clicked_at, 'UTC'), md5(l.url), min(l.url),
           sum(l.clicks), sum(l.human_clicks)
    from link_stats l join messages m on m.token = l.message_token
    where m.platform_message_id is not null and l.first_clicked_at is not null
    group by 1, 2, 3, 4, 5`.execute(db);

  await sql`
    insert into machine_hourly_stats (server, tracking_domain, tag, hour, kind, reason, hits)
    select m.server, m.tracking_domain, coalesce(m.tag, ''), date_trunc('hour', e.at), e.kind, coalesce(e.machine_reason, 'unknown'), count(*)
    from (select message_token, at, machine_reason, 'open' as kind from opens where machine
          union all
          select message_token, at, machine_reason, 'click' from clicks where machine) e
    join messages m on m.token = e.message_token
    where m.platform_message_id is not null
    group by 1, 2, 3, 4, 5, 6`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table machine_hourly_stats`.execute(db);
  await sql`drop table link_daily_stats`.execute(db);
}
