/** Aim the check at a given address/port instead of what DNS says (e.g. a local proxy). */
export interface DomainCheckOptions {
  address?: string;
  port?: number;
  /** Per step (default 5000 ms). */
  timeoutMs?: number;
}

export interface DomainCheckStep {
  name: 'dns' | 'http';
  ok: boolean;
  /** What was seen, e.g. `CNAME → mailbeacon.example.net` or `GET https://click.example.com/ → 200 "Hello."`. */
  detail: string;
}

export interface DomainCheckResult {
  host: string;
  ok: boolean;
  steps: DomainCheckStep[];
  /** One line: `click.example.com is ready for tracking` or what is wrong. */
  verdict: string;
  /** What to fix, in order; empty when ok. */
  advice: string[];
}

/** Proves a tracking domain is set up as the seed asks: DNS points somewhere, and `GET /` through it answers `Hello.`. */
export type CheckTrackingDomain = (host: string, ssl: boolean, options?: DomainCheckOptions) => Promise<DomainCheckResult>;
