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

export interface Database {
  servers: ServersTable;
  tracking_domains: TrackingDomainsTable;
}

export type ServerRow = Selectable<ServersTable>;
export type TrackingDomainRow = Selectable<TrackingDomainsTable>;
export type NewTrackingDomainRow = Insertable<TrackingDomainsTable>;
export type TrackingDomainUpdate = Updateable<TrackingDomainsTable>;
