import { MESSAGE_TOKEN_PATTERN, SERVER_TOKEN_PATTERN, type KeyRing } from '@mailbeacon/links';
import { normalizeHost } from './link-policy';

export interface RewriteOptions {
  /** The tracking domain's host, e.g. `click.example.com`. */
  trackingDomain: string;
  /** https tracking URLs (default); false for http. */
  ssl?: boolean;
  /** Default true. Even when false, `+notrack` links are still unwrapped. */
  trackClicks?: boolean;
  /** Default true: one open pixel per HTML part. */
  trackOpens?: boolean;
  /** Links to these domains (and their subdomains) are never tracked. */
  excludedDomains?: readonly string[];
  /** The sending server's token, carried in every tracking URL. */
  server: string;
  /** Signs the tracking URLs. */
  keys: KeyRing;
  /** A fresh random token when absent. */
  messageToken?: string;
  /**
   * A message that already carries a DKIM-Signature is left untracked (changing it would
   * break the signature) unless the platform signs again after tracking.
   */
  signsAfterTracking?: boolean;
  /** Larger messages are passed through untracked. Default 50 MiB. */
  maxMessageBytes?: number;
}

export interface ResolvedRewriteOptions {
  trackingHost: string;
  ssl: boolean;
  trackClicks: boolean;
  trackOpens: boolean;
  excludedDomains: readonly string[];
  server: string;
  keys: KeyRing;
  signsAfterTracking: boolean;
  maxMessageBytes: number;
}

/** Options are the caller's programming contract: a bad one throws instead of skipping the message. */
export class RewriteOptionsError extends Error {
  override readonly name = 'RewriteOptionsError';
}

export const DEFAULT_MAX_MESSAGE_BYTES = 50 * 1024 * 1024;

const HOST_PATTERN = /^(?=.{1,253}(:\d{1,5})?$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/i;

export function resolveRewriteOptions(options: RewriteOptions): ResolvedRewriteOptions {
  if (typeof options.trackingDomain !== 'string' || !HOST_PATTERN.test(options.trackingDomain.trim())) {
    throw new RewriteOptionsError(`trackingDomain must be a host name such as click.example.com, got ${JSON.stringify(options.trackingDomain)}`);
  }
  if (typeof options.server !== 'string' || !SERVER_TOKEN_PATTERN.test(options.server)) {
    throw new RewriteOptionsError(`server must be a server token (letters, digits, - and _), got ${JSON.stringify(options.server)}`);
  }
  if (options.messageToken !== undefined && !MESSAGE_TOKEN_PATTERN.test(options.messageToken)) {
    throw new RewriteOptionsError(`messageToken must be 16-64 URL-safe characters`);
  }
  if (!options.keys || typeof options.keys.find !== 'function') throw new RewriteOptionsError('keys must be a key ring');
  const excluded = options.excludedDomains ?? [];
  for (const domain of excluded) {
    if (typeof domain !== 'string' || normalizeHost(domain) === '') {
      throw new RewriteOptionsError(`excluded domain ${JSON.stringify(domain)} is not a domain name`);
    }
  }
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes <= 0) throw new RewriteOptionsError('maxMessageBytes must be a positive integer');
  return {
    trackingHost: options.trackingDomain.trim().toLowerCase(),
    ssl: options.ssl ?? true,
    trackClicks: options.trackClicks ?? true,
    trackOpens: options.trackOpens ?? true,
    excludedDomains: excluded,
    server: options.server,
    keys: options.keys,
    signsAfterTracking: options.signsAfterTracking ?? false,
    maxMessageBytes,
  };
}
