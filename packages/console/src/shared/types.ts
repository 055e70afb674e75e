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
