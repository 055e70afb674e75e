/** User agents and header values with a known meaning for opens and clicks. */

/** Apple Mail Privacy Protection sends this and nothing more. */
export const APPLE_MPP_AGENT = 'Mozilla/5.0';

/** Gmail's prefetcher: an old Edge agent with a second `Mozilla/5.0` appended; isbot 5.2.3 misses it. */
export const GMAIL_PREFETCH_AGENT =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.246 Mozilla/5.0';

const GOOGLE_IMAGE_PROXY_MARK = 'GoogleImageProxy';
const YAHOO_MAIL_PROXY_PREFIX = 'yahoomailproxy';

/**
 * Mail security scanners, matched as lower-case substrings.
 *
 * Measured against isbot 5.2.3: its list names none of these vendors. It flags a bare product string
 * ("mimecast", "Barracuda Sentinel (EE)") only through its generic "does not look like a browser" patterns,
 * and misses every one of them inside a browser-like agent ("Mozilla/5.0 (compatible; mimecast)"),
 * which is how scanners usually present themselves. So all of them stay on our list.
 */
export const SCANNER_AGENT_MARKS: readonly string[] = Object.freeze([
  'mimecast',
  'proofpoint',
  'barracuda',
  'symantec',
  'messagelabs',
  'fireeye',
  'trend micro',
  'trendmicro',
  'forcepoint',
  'zscaler',
  'ironport',
  'sophos',
  'safelinks',
]);

const PREFETCH_PURPOSE = /prefetch|preview|prerender/i;

export function isAppleMppAgent(agent: string): boolean {
  return agent.trim() === APPLE_MPP_AGENT;
}

export function isGmailPrefetchAgent(agent: string): boolean {
  return agent.trim() === GMAIL_PREFETCH_AGENT;
}

export function isGoogleImageProxyAgent(agent: string): boolean {
  return agent.includes(GOOGLE_IMAGE_PROXY_MARK);
}

export function isYahooMailProxyAgent(agent: string): boolean {
  return agent.trim().toLowerCase().startsWith(YAHOO_MAIL_PROXY_PREFIX);
}

export function isScannerAgent(agent: string): boolean {
  const lower = agent.toLowerCase();
  return SCANNER_AGENT_MARKS.some((mark) => lower.includes(mark));
}

/** `Sec-Purpose: prefetch;prerender`, `Purpose: preview` and the like: the browser is fetching ahead, not the reader. */
export function isPrefetchPurpose(purpose: string | null | undefined): boolean {
  return purpose != null && PREFETCH_PURPOSE.test(purpose);
}
