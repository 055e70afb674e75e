/** The admin API's answers, as JSON (see apps/admin/README.md). */

export interface Server {
  id: number;
  name: string;
  token: string;
  createdAt: string;
}

export type VerificationStatus = 'unchecked' | 'ok' | 'failed';

export interface TrackingDomain {
  id: number;
  server: string;
  host: string;
  ssl: boolean;
  trackClicks: boolean;
  trackOpens: boolean;
  excludedDomains: string[];
  verification: { status: VerificationStatus; message: string | null; checkedAt: string | null };
  updatedAt: string;
}

export interface TrackingDomainSettings {
  ssl: boolean;
  trackClicks: boolean;
  trackOpens: boolean;
  excludedDomains: string[];
}

export interface CheckStep {
  name: string;
  ok: boolean;
  detail: string;
}

export interface CheckResult {
  host: string;
  ok: boolean;
  steps: CheckStep[];
  verdict: string;
  advice: string[];
}

/** A server-scoped, read-only key for the stats API; `key` only in the answer that created it. */
export interface ApiKey {
  id: number;
  server: string;
  name: string | null;
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
  key?: string;
}

/*
 * The numbers' answers are the stats reader's types (packages/db, "The numbers" in
 * apps/admin/README.md) as JSON: dates become ISO strings. Type-only: nothing of the
 * database package reaches the browser, and a change of shape there fails this build.
 */
import type * as Stats from '@mailbeacon/db';

/** A value as JSON.parse gives it back: Date → string. */
type Json<T> = T extends Date ? string : T extends Array<infer Item> ? Array<Json<Item>> : T extends object ? { [K in keyof T]: Json<T[K]> } : T;

export type StatsAudience = Stats.StatsAudience;
type StatsScope = Json<Stats.StatsScope>;

export type StatsSummary = StatsScope & Json<Stats.StatsSummary>;
export type StatsSeries = StatsScope & { by: Stats.StatsBucket; points: Array<Json<Stats.SeriesPoint>> };
export type StatsTags = StatsScope & { tags: Array<Json<Stats.TagStats>> };
export type StatsLinks = StatsScope & { limit: number; links: Array<Json<Stats.LinkStats>> };
export type TimelineEntry = Json<Stats.TimelineEntry>;
export type MessageTimeline = Json<Stats.MessageTimeline>;
