import { createHmac, timingSafeEqual } from 'node:crypto';
import type { KeyRing } from './key-ring';
import { MESSAGE_TOKEN_PATTERN, SERVER_TOKEN_PATTERN } from './message-token';

/*
 * Tracking URLs are self-contained: everything the tracker needs is in the path and
 * covered by an HMAC, so it can redirect without any lookup and can never be an open
 * redirect. Only URL-safe characters are used (base64url and decimal digits), so proxies,
 * mail clients and link scanners leave them alone and HTML needs no escaping.
 *
 *   click:  /c/<key id>/<server>/<message>/<link index>/<base64url destination>/<mac>
 *   pixel:  /o/<key id>/<server>/<message>/<mac>
 *
 * The MAC is HMAC-SHA256 over the kind and every field, truncated to 128 bits.
 */

export interface TrackingHost {
  /** e.g. `click.example.com` (a port is allowed for local setups). */
  host: string;
  /** https unless explicitly false. */
  ssl?: boolean;
}

export interface ClickLink {
  server: string;
  messageToken: string;
  linkIndex: number;
  url: string;
}

export interface OpenPixel {
  server: string;
  messageToken: string;
}

export type Verified<T> = { ok: true; value: T & { keyId: string } } | { ok: false; reason: string };

/**
 * The longest tracking URL signLink makes, in characters (all ASCII), and the longest
 * Location its redirect sends (locationFor). RFC 9110 §4.1 asks every
 * sender and recipient to support URIs of at least 8000 octets: browsers go far beyond (Chrome
 * 2 MB), Apache's request line stops at 8190 and nginx's default header buffer at 8 KB, which
 * is what load balancers and proxies between the reader and the tracker are sure to accept.
 * A destination whose tracking URL or redirect would be longer is left untracked (the link
 * still works).
 * The shipped nginx config (infra/nginx) and the tracker's header limit are sized from it.
 */
export const MAX_TRACKING_URL_LENGTH = 8000;

const MAC_BYTES = 16;
const MAX_LINK_INDEX = 1_000_000;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,16}$/;
const B64URL_PATTERN = /^[A-Za-z0-9_-]+$/;
const INDEX_PATTERN = /^(0|[1-9][0-9]{0,6})$/;

export class SignLinkError extends Error {
  override readonly name: string = 'SignLinkError';
}

/** The tracking URL or its redirect would be over MAX_TRACKING_URL_LENGTH: the link must stay untracked. */
export class TrackingUrlTooLongError extends SignLinkError {
  override readonly name = 'TrackingUrlTooLongError';
  constructor(
    /** What is too long: the tracking URL, or the destination as the redirect's Location sends it. */
    readonly what: 'tracking URL' | 'redirect',
    readonly length: number,
  ) {
    super(
      `${what === 'tracking URL' ? 'the tracking URL' : 'the redirect to it (percent-encoded)'} would be ${length} characters, ` +
        `over the ${MAX_TRACKING_URL_LENGTH} that browsers, proxies and servers all accept (RFC 9110)`,
    );
  }
}

/** Printable ASCII without spaces: what a Location header carries verbatim. */
const VERBATIM_LOCATION = /^[\x21-\x7e]+$/;

/**
 * The Location of the redirect to a destination: exactly as signed. A signed URL with
 * characters a header cannot carry (non-ASCII, spaces, control characters) goes out as the
 * WHATWG serialisation of the same URL: what the browser would have requested had the link
 * not been tracked (each non-ASCII byte percent-encoded: up to 9 characters per character).
 */
export function locationFor(destination: string): string {
  return VERBATIM_LOCATION.test(destination) ? destination : new URL(destination).href;
}

function mac(secret: Buffer, fields: readonly string[]): string {
  return createHmac('sha256', secret).update(fields.join('\n')).digest().subarray(0, MAC_BYTES).toString('base64url');
}

function origin({ host, ssl }: TrackingHost): string {
  return `${ssl === false ? 'http' : 'https'}://${host}`;
}

function checkTokens(server: string, messageToken: string): void {
  if (!SERVER_TOKEN_PATTERN.test(server)) throw new SignLinkError(`invalid server token: ${JSON.stringify(server)}`);
  if (!MESSAGE_TOKEN_PATTERN.test(messageToken)) throw new SignLinkError(`invalid message token: ${JSON.stringify(messageToken)}`);
}

/** True for an absolute http(s) URL with a host: the only destinations we ever redirect to. */
export function isHttpDestination(url: string): boolean {
  if (!/^https?:\/\//i.test(url)) return false;
  try {
    const parsed = new URL(url);
    return (parsed.protocol === 'http:' || parsed.protocol === 'https:') && parsed.hostname !== '';
  } catch {
    return false;
  }
}

export function signLink(keys: KeyRing, trackingHost: TrackingHost, link: ClickLink): string {
  checkTokens(link.server, link.messageToken);
  if (!Number.isInteger(link.linkIndex) || link.linkIndex < 0 || link.linkIndex >= MAX_LINK_INDEX) {
    throw new SignLinkError(`invalid link index: ${link.linkIndex}`);
  }
  if (!isHttpDestination(link.url)) throw new SignLinkError(`not an http(s) URL: ${JSON.stringify(link.url)}`);
  const key = keys.current;
  const fields = ['c', key.id, link.server, link.messageToken, String(link.linkIndex), Buffer.from(link.url, 'utf8').toString('base64url')];
  const url = `${origin(trackingHost)}/${fields.join('/')}/${mac(key.secret, fields)}`;
  if (url.length > MAX_TRACKING_URL_LENGTH) throw new TrackingUrlTooLongError('tracking URL', url.length);
  // Printable ASCII goes into Location as it is, shorter than the tracking URL holding it in
  // base64: only other destinations (non-ASCII, spaces) can make the redirect the longer, and
  // only they pay for serialising it.
  if (!VERBATIM_LOCATION.test(link.url)) {
    const location = locationFor(link.url).length;
    if (location > MAX_TRACKING_URL_LENGTH) throw new TrackingUrlTooLongError('redirect', location);
  }
  return url;
}

export function signPixel(keys: KeyRing, trackingHost: TrackingHost, pixel: OpenPixel): string {
  checkTokens(pixel.server, pixel.messageToken);
  const key = keys.current;
  const fields = ['o', key.id, pixel.server, pixel.messageToken];
  return `${origin(trackingHost)}/${fields.join('/')}/${mac(key.secret, fields)}`;
}

/** The path of a URL, or the input itself when it already is a path. Query and fragment are ignored. */
function pathOf(urlOrPath: string): string | undefined {
  if (urlOrPath.startsWith('/')) return urlOrPath.replace(/[?#].*$/s, '');
  try {
    return new URL(urlOrPath).pathname;
  } catch {
    return undefined;
  }
}

function macMatches(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

type Segments = { ok: true; fields: string[]; given: string; secret: Buffer } | { ok: false; reason: string };

function splitSigned(keys: KeyRing, urlOrPath: string, kind: 'c' | 'o', count: number): Segments {
  const path = pathOf(urlOrPath);
  if (path === undefined) return { ok: false, reason: 'not a URL' };
  const segments = path.split('/').slice(1);
  if (segments[0] !== kind) return { ok: false, reason: kind === 'c' ? 'not a click link' : 'not an open pixel' };
  if (segments.length !== count + 1) return { ok: false, reason: 'wrong number of path segments' };
  const fields = segments.slice(0, count);
  const given = segments[count];
  const keyId = fields[1];
  if (!KEY_ID_PATTERN.test(keyId)) return { ok: false, reason: 'malformed key id' };
  if (!SERVER_TOKEN_PATTERN.test(fields[2])) return { ok: false, reason: 'malformed server token' };
  if (!MESSAGE_TOKEN_PATTERN.test(fields[3])) return { ok: false, reason: 'malformed message token' };
  const key = keys.find(keyId);
  if (!key) return { ok: false, reason: 'unknown signing key' };
  return { ok: true, fields, given, secret: key.secret };
}

/** Checks a click URL (or its path); on success returns the destination it was signed for. */
export function verifyLink(keys: KeyRing, urlOrPath: string): Verified<ClickLink> {
  const split = splitSigned(keys, urlOrPath, 'c', 6);
  if (!split.ok) return split;
  const [, keyId, server, messageToken, index, encoded] = split.fields;
  if (!INDEX_PATTERN.test(index)) return { ok: false, reason: 'malformed link index' };
  if (!B64URL_PATTERN.test(encoded)) return { ok: false, reason: 'malformed destination' };
  if (!macMatches(mac(split.secret, split.fields), split.given)) return { ok: false, reason: 'bad signature' };
  const url = Buffer.from(encoded, 'base64url').toString('utf8');
  // Defence in depth: even a correctly signed link only ever leads to http(s).
  if (!isHttpDestination(url)) return { ok: false, reason: 'destination is not an http(s) URL' };
  return { ok: true, value: { keyId, server, messageToken, linkIndex: Number(index), url } };
}

/** Checks an open-pixel URL (or its path). */
export function verifyPixel(keys: KeyRing, urlOrPath: string): Verified<OpenPixel> {
  const split = splitSigned(keys, urlOrPath, 'o', 4);
  if (!split.ok) return split;
  const [, keyId, server, messageToken] = split.fields;
  if (!macMatches(mac(split.secret, split.fields), split.given)) return { ok: false, reason: 'bad signature' };
  return { ok: true, value: { keyId, server, messageToken } };
}
