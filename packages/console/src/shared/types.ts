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

export type StatsAudience = 'people' | 'all';

/** What every stats answer starts with. */
export interface StatsScope {
  server: string;
  from: string;
  to: string;
  audience: StatsAudience;
  tag?: string;
  trackingDomain?: string;
}

export interface StatsCounts {
  messages: number;
  opens: number;
  uniqueOpens: number;
  clicks: number;
  uniqueClicks: number;
}

export interface StatsRates {
  openRate: number | null;
  clickRate: number | null;
  clickToOpenRate: number | null;
}

export interface MachineReasonCount {
  reason: string;
  hits: number;
}

export type StatsSummary = StatsScope &
  StatsCounts &
  StatsRates & {
    machines: { opens: number; clicks: number; openShare: number | null; clickShare: number | null; openReasons: MachineReasonCount[]; clickReasons: MachineReasonCount[] };
  };

export interface StatsSeries extends StatsScope {
  by: 'hour' | 'day';
  points: Array<StatsCounts & { at: string }>;
}

export interface StatsTags extends StatsScope {
  tags: Array<StatsCounts & StatsRates & { tag: string | null }>;
}

export interface StatsLinks extends StatsScope {
  limit: number;
  links: Array<{ url: string; clicks: number; allClicks: number }>;
}

interface HitDetails {
  at: string;
  ip: string | null;
  userAgent: string | null;
  method: string;
  machine: boolean;
  machineReason: string | null;
}

export type TimelineEntry = { type: 'sent'; at: string } | (HitDetails & { type: 'open'; proxy: string | null }) | (HitDetails & { type: 'click'; linkIndex: number; url: string });

export interface MessageTimeline {
  token: string;
  server: string;
  platformMessageId: string | null;
  recipient: string | null;
  tag: string | null;
  trackingDomain: string | null;
  linkCount: number | null;
  pixel: boolean | null;
  sentAt: string | null;
  opens: number;
  humanOpens: number;
  clicks: number;
  humanClicks: number;
  timeline: TimelineEntry[];
}
