import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type VerificationStatus = 'unchecked' | 'ok' | 'failed';

export interface ServersTable {
  id: Generated<number>;
  name: string;
  /** Short URL-safe id carried in every tracking URL of the server's mail. */
  token: string;
  created_at: ColumnType<Date, never, never>;
}

export interface TrackingDomainsTable {
  id: Generated<number>;
  server_id: number;
  /** Lower-case host, e.g. click.example.com; unique: one CNAME points at one platform. */
  host: string;
  ssl: Generated<boolean>;
  track_clicks: Generated<boolean>;
  track_opens: Generated<boolean>;
  excluded_domains: ColumnType<string[], string[] | undefined, string[]>;
  verification_status: Generated<VerificationStatus>;
  verification_message: string | null;
  checked_at: Date | null;
  created_at: ColumnType<Date, never, never>;
  updated_at: ColumnType<Date, never, Date>;
}

/** A read-only key to one server's statistics; the key itself is never stored, only its SHA-256. */
export interface ApiKeysTable {
  id: Generated<number>;
  server_id: number;
  name: string | null;
  key_hash: Buffer;
  /** The key's first characters (`mbk_` and 8 more): enough to recognise it, useless to use it. */
  prefix: string;
  created_at: ColumnType<Date, never, never>;
  last_used_at: ColumnType<Date | null, never, Date>;
  revoked_at: ColumnType<Date | null, never, Date>;
}

/** One row per tracked message; a row made by an early open/click has nulls until its message event arrives. */
export interface MessagesTable {
  token: string;
  server: string;
  platform_message_id: string | null;
  recipient: string | null;
  tag: string | null;
  tracking_domain: string | null;
  link_count: number | null;
  pixel: boolean | null;
  sent_at: Date | null;
  opens: Generated<number>;
  human_opens: Generated<number>;
  clicks: Generated<number>;
  human_clicks: Generated<number>;
  first_opened_at: Date | null;
  last_opened_at: Date | null;
  first_human_opened_at: Date | null;
  first_clicked_at: Date | null;
  last_clicked_at: Date | null;
  first_human_clicked_at: Date | null;
  updated_at: Generated<Date>;
}

interface HitColumns {
  id: string;
  at: Date;
  message_token: string;
  server: string;
  ip: string | null;
  user_agent: string | null;
  method: string;
  purpose: string | null;
  machine: boolean;
  machine_reason: string | null;
}

export interface OpensTable extends HitColumns {
  proxy: string | null;
}

export interface ClicksTable extends HitColumns {
  link_index: number;
  url: string;
}

export interface LinkStatsTable {
  message_token: string;
  link_index: number;
  url: string;
  clicks: number;
  human_clicks: number;
  first_clicked_at: Date | null;
  last_clicked_at: Date | null;
}

/** bigint columns: node-postgres returns them as strings. */
type Count = ColumnType<string, number | string, number | string>;

export interface HourlyStatsTable {
  server: string;
  tracking_domain: string;
  tag: string;
  hour: Date;
  messages: Count;
  opens: Count;
  unique_opens: Count;
  clicks: Count;
  unique_clicks: Count;
  human_opens: Count;
  human_unique_opens: Count;
  human_clicks: Count;
  human_unique_clicks: Count;
}

/** Clicks per URL across messages and UTC day (`url_md5`, md5 of the URL as a uuid, keys the URL). */
export interface LinkDailyStatsTable {
  server: string;
  tracking_domain: string;
  tag: string;
  day: Date;
  url_md5: string;
  url: string;
  clicks: Count;
  human_clicks: Count;
}

/** Machine opens (`kind` open) and clicks per `machine_reason` and UTC day. */
export interface MachineDailyStatsTable {
  server: string;
  tracking_domain: string;
  tag: string;
  day: Date;
  kind: 'open' | 'click';
  reason: string;
  hits: Count;
}

/** A console login: the SHA-256 of the random id its cookie holds. */
export interface ConsoleSessionsTable {
  id_hash: Buffer;
  created_at: ColumnType<Date, never, never>;
  last_seen_at: ColumnType<Date, never, Date>;
}

export interface Database {
  servers: ServersTable;
  tracking_domains: TrackingDomainsTable;
  messages: MessagesTable;
  opens: OpensTable;
  clicks: ClicksTable;
  link_stats: LinkStatsTable;
  hourly_stats: HourlyStatsTable;
  link_daily_stats: LinkDailyStatsTable;
  machine_daily_stats: MachineDailyStatsTable;
  api_keys: ApiKeysTable;
  console_sessions: ConsoleSessionsTable;
}

export type ServerRow = Selectable<ServersTable>;
export type TrackingDomainRow = Selectable<TrackingDomainsTable>;
export type NewTrackingDomainRow = Insertable<TrackingDomainsTable>;
export type TrackingDomainUpdate = Updateable<TrackingDomainsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
