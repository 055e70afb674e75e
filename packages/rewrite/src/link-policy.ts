import { domainToASCII } from 'node:url';

/** What to do with one link found in a message. */
export type LinkDecision =
  | { action: 'track'; url: string }
  /** `https+notrack://x` → `https://x`, never tracked. */
  | { action: 'unwrap'; url: string }
  | { action: 'keep' };

export interface LinkPolicyOptions {
  trackClicks: boolean;
  /** The message's tracking domain: links already pointing at it are not wrapped again. */
  trackingHost: string;
  /** Links to these domains and their subdomains are never tracked. */
  excludedDomains: readonly string[];
}

const NOTRACK_SCHEME = /^(https?)\+notrack:/i;
const HTTP_SCHEME = /^https?:\/\//i;

/** Lower-case ASCII (punycode) host without port or trailing dot; '' when it is not a host. */
export function normalizeHost(host: string): string {
  const withoutPort = host.trim().replace(/:\d*$/, '').replace(/\.+$/, '');
  return domainToASCII(withoutPort.toLowerCase());
}

export class LinkPolicy {
  private readonly trackingHost: string;
  private readonly excluded: readonly string[];

  constructor(private readonly options: LinkPolicyOptions) {
    this.trackingHost = normalizeHost(options.trackingHost);
    this.excluded = options.excludedDomains.map(normalizeHost).filter((d) => d !== '');
  }

  /** `url` is the link's true destination (entities decoded, surrounding whitespace removed). */
  decide(url: string): LinkDecision {
    const notrack = NOTRACK_SCHEME.exec(url);
    if (notrack) return { action: 'unwrap', url: notrack[1] + url.slice(notrack[0].length - 1) };
    if (!this.options.trackClicks || !HTTP_SCHEME.test(url)) return { action: 'keep' };
    let host: string;
    try {
      const parsed = new URL(url);
      host = normalizeHost(parsed.hostname);
    } catch {
      return { action: 'keep' };
    }
    if (host === '' || host === this.trackingHost || this.isExcluded(host)) return { action: 'keep' };
    return { action: 'track', url };
  }

  private isExcluded(host: string): boolean {
    return this.excluded.some((domain) => host === domain || host.endsWith(`.${domain}`));
  }
}
