/** What selection needs to know of a tracking domain. */
export interface SelectableDomain {
  host: string;
}

export type Selection<D> = { domain: D } | { domain?: undefined; reason: string };

/** The domain a tracking host serves: click.example.com → example.com. */
export function parentDomain(host: string): string {
  const dot = host.indexOf('.');
  return dot < 0 ? host : host.slice(dot + 1);
}

function isSameOrSubdomain(domain: string, parent: string): boolean {
  return domain === parent || domain.endsWith(`.${parent}`);
}

/**
 * Picks the tracking domain for a message from its server's domains: the one whose parent
 * domain is the sender's domain or a parent of it (click.example.com serves example.com and
 * news.example.com), the most specific when several do. Links on another organisation's
 * domain look like phishing and hurt deliverability, so there is no fallback to an unrelated one.
 * A domain the job names explicitly must be one of the server's.
 */
export function selectTrackingDomain<D extends SelectableDomain>(domains: readonly D[], senderDomain: string | undefined, explicit?: string): Selection<D> {
  if (explicit !== undefined) {
    const host = explicit.trim().toLowerCase().replace(/\.$/, '');
    const domain = domains.find((d) => d.host === host);
    return domain ? { domain } : { reason: `no-tracking-domain: ${host} is not a tracking domain of this server` };
  }
  if (!senderDomain) return { reason: 'no-tracking-domain: the message has no sender (From) domain' };
  const sender = senderDomain.toLowerCase().replace(/\.$/, '');
  let best: D | undefined;
  for (const domain of domains) {
    const parent = parentDomain(domain.host);
    if (!isSameOrSubdomain(sender, parent)) continue;
    if (!best || parent.length > parentDomain(best.host).length || (parent.length === parentDomain(best.host).length && domain.host < best.host)) best = domain;
  }
  return best ? { domain: best } : { reason: `no-tracking-domain: the server has no tracking domain for ${sender}` };
}
