import { Resolver } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { CheckTrackingDomain, DomainCheckOptions, DomainCheckResult, DomainCheckStep } from './domain-check-types';

/*
 * The setup check an operator runs after pointing a tracking domain at mailbeacon: does DNS
 * know the host, and does `GET /` through the operator's proxy reach the tracker (which
 * answers `Hello.` only when the proxy adds `X-Postal-Track-Host: 1`)? Each failure comes
 * with the one thing to fix, because the usual mistakes (missing record, proxy not running,
 * bad certificate, header not set, redirect to somewhere else) all look alike from outside.
 */

const DEFAULT_TIMEOUT_MS = 5000;
/** The tracker's answer at `/` when the request came through a correctly configured proxy. */
const TRACKER_GREETING = 'Hello.';
/** Enough of a wrong answer to recognise it (an nginx 404 page, another site's home page). */
const MAX_BODY_BYTES = 4096;
const MAX_QUOTE_CHARS = 80;

const PROXY_HEADER_ADVICE =
  'the proxy answers but does not pass requests to the tracker with the header X-Postal-Track-Host: 1 — add `proxy_set_header X-Postal-Track-Host 1;`';

/** What one step found: its line for the report and, when it failed, the problem and what to do. */
interface StepOutcome {
  step: DomainCheckStep;
  /** Short, for the verdict line. */
  problem?: string;
  advice?: string;
}

class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'ETIMEDOUT';
}

const errorCode = (error: unknown): string => String((error as { code?: unknown }).code ?? '');

// ---- DNS -------------------------------------------------------------------------------

/** Rejects with TimeoutError after `ms`, calling `onTimeout` (to cancel the work) first. */
function withTimeout<T>(work: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new TimeoutError(`no answer within ${ms} ms`));
    }, ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** `[]` when the name exists without records of that type, so "no CNAME" can fall through to A/AAAA. */
async function recordsOrNone(lookup: Promise<string[]>): Promise<string[]> {
  try {
    return await lookup;
  } catch (error) {
    if (errorCode(error) === 'ENODATA') return [];
    throw error;
  }
}

/** CNAME first (the recommended setup: it follows the tracker when its addresses change), else A/AAAA. */
async function lookUpRecords(resolver: Resolver, host: string): Promise<string | undefined> {
  const cnames = await recordsOrNone(resolver.resolveCname(host));
  if (cnames.length) return `CNAME → ${cnames.join(', ')}`;
  const [v4, v6] = await Promise.all([recordsOrNone(resolver.resolve4(host)), recordsOrNone(resolver.resolve6(host))]);
  const parts = [...(v4.length ? [`A ${v4.join(', ')}`] : []), ...(v6.length ? [`AAAA ${v6.join(', ')}`] : [])];
  return parts.length ? parts.join('; ') : undefined;
}

function describeDnsError(error: unknown): string {
  switch (errorCode(error)) {
    case 'ENOTFOUND':
      return 'no such name (NXDOMAIN)';
    case 'ETIMEOUT':
    case 'ETIMEDOUT':
      return 'the DNS servers did not answer in time';
    case 'ECONNREFUSED':
      return 'the DNS servers could not be reached';
    default:
      return (error as Error).message;
  }
}

async function checkDns(host: string, timeoutMs: number, address: string | undefined): Promise<StepOutcome> {
  // c-ares' own timeout is per attempt; the outer one bounds the whole CNAME → A/AAAA sequence.
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  let found: string | undefined;
  let failure: string;
  try {
    found = await withTimeout(lookUpRecords(resolver, host), timeoutMs, () => resolver.cancel());
    failure = `no CNAME, A or AAAA record for ${host}`;
  } catch (error) {
    failure = `cannot resolve ${host}: ${describeDnsError(error)}`;
  }
  if (found) return { step: { name: 'dns', ok: true, detail: found } };
  if (address !== undefined) {
    // The operator aimed the check at a given address (a proxy not in DNS yet): DNS is only informational.
    return { step: { name: 'dns', ok: false, detail: `${failure} (informational: the address ${address} was given, so it is checked instead)` } };
  }
  return {
    step: { name: 'dns', ok: false, detail: failure },
    problem: failure,
    advice: `create a CNAME record for ${host} pointing at your mailbeacon tracker's host (or A/AAAA records)`,
  };
}

// ---- HTTP(S) ---------------------------------------------------------------------------

interface HttpAnswer {
  status: number;
  location?: string;
  body: string;
}

interface HttpTarget {
  host: string;
  ssl: boolean;
  /** Where to connect: the given address, else the host itself. */
  connectTo: string;
  port: number;
  timeoutMs: number;
}

/** One `GET /`, no redirects followed, the body cut at MAX_BODY_BYTES; rejects on network/TLS errors and timeout. */
function getRoot(target: HttpTarget): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const request = (target.ssl ? https : http).request({
      host: target.connectTo,
      port: target.port,
      path: '/',
      method: 'GET',
      headers: { Host: target.host, 'User-Agent': 'mailbeacon-domain-check', Accept: 'text/plain' },
      // SNI and certificate verification are for the tracking host, whatever address we connect to.
      ...(target.ssl && { servername: target.host }),
      agent: false,
    });
    // One timer for the whole exchange (connect, TLS, headers, body): a server that accepts
    // the connection and then never answers must not hold the check.
    const timer = setTimeout(() => request.destroy(new TimeoutError(`no answer within ${target.timeoutMs} ms`)), target.timeoutMs);
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      settle();
    };
    request.on('error', (error) => finish(() => reject(error)));
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => {
        const location = response.headers.location;
        finish(() => resolve({ status: response.statusCode ?? 0, location, body: Buffer.concat(chunks).toString('utf8') }));
        response.destroy();
      };
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) done();
      });
      response.on('end', done);
      response.on('error', (error) => finish(() => reject(error)));
    });
    request.end();
  });
}

function quote(body: string): string {
  const text = body.trim().replace(/\s+/g, ' ');
  return JSON.stringify(text.length > MAX_QUOTE_CHARS ? `${text.slice(0, MAX_QUOTE_CHARS)}…` : text);
}

const TLS_ERROR_CODES = new Set([
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** Nothing (usable) listens there: the proxy is down, the port is closed or filtered. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EADDRNOTAVAIL', 'EPIPE']);

function describeHttpFailure(error: unknown, target: HttpTarget, url: string): StepOutcome {
  const code = errorCode(error);
  const message = (error as Error).message;
  const where = `${target.connectTo}:${target.port}`;
  const failed = (detail: string, problem: string, advice: string): StepOutcome => ({ step: { name: 'http', ok: false, detail: `GET ${url} → ${detail}` }, problem, advice });

  if (TLS_ERROR_CODES.has(code)) {
    return failed(`TLS error: ${message}`, `the certificate for ${target.host} is not valid: ${message}`, `the certificate for ${target.host} is not valid: ${message} — install a certificate for ${target.host} (e.g. from Let's Encrypt) on the proxy`);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'EPROTO' || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return failed(
      `TLS error: ${message}`,
      `no TLS on ${where}: ${message}`,
      `${where} does not speak TLS (${message}) — is it the proxy's https port, with a certificate for ${target.host}? (or set the domain to http)`,
    );
  }
  if (error instanceof TimeoutError) {
    return failed(message, `nothing answers on ${where} (${message})`, `nothing answers on ${where} — is the proxy running and the port open?`);
  }
  if (UNREACHABLE_CODES.has(code)) {
    return failed(`${code}`, `nothing answers on ${where} (${code})`, `nothing answers on ${where} — is the proxy running and the port open?`);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return failed(`${code}`, `cannot resolve ${target.connectTo}`, `create a CNAME record for ${target.host} pointing at your mailbeacon tracker's host (or A/AAAA records)`);
  }
  return failed(message, `GET ${url} failed: ${message}`, `GET ${url} failed (${message}) — check the proxy in front of the tracker`);
}

function judgeAnswer(answer: HttpAnswer, target: HttpTarget, url: string): StepOutcome {
  const seen = `GET ${url} → ${answer.status}`;
  if (answer.status === 200 && answer.body.trim() === TRACKER_GREETING) {
    return { step: { name: 'http', ok: true, detail: `${seen} ${quote(answer.body)}` } };
  }
  if (answer.status >= 300 && answer.status < 400) {
    const location = answer.location ?? '(no Location header)';
    const detail = `${seen} redirect to ${location}`;
    // The classic: a proxy that upgrades every http request while the domain is set to http.
    const advice = !target.ssl && location.startsWith('https://')
      ? `${target.host} redirects http to ${location}: switch the domain to https (its tracking links would then be https) or pass http straight to the tracker with \`proxy_set_header X-Postal-Track-Host 1;\``
      : `${target.host} redirects GET / to ${location} instead of passing it to the tracker — proxy ${target.host} to the tracker with \`proxy_set_header X-Postal-Track-Host 1;\` and no redirect`;
    return { step: { name: 'http', ok: false, detail }, problem: `GET / redirects to ${location}`, advice };
  }
  return {
    step: { name: 'http', ok: false, detail: `${seen} ${quote(answer.body)}` },
    problem: `GET / answered ${answer.status} ${quote(answer.body)} instead of 200 "${TRACKER_GREETING}"`,
    advice: `${PROXY_HEADER_ADVICE} (received ${answer.status} ${quote(answer.body)}, expected 200 "${TRACKER_GREETING}")`,
  };
}

async function checkHttp(host: string, ssl: boolean, options: DomainCheckOptions, timeoutMs: number): Promise<StepOutcome> {
  const target: HttpTarget = { host, ssl, connectTo: options.address ?? host, port: options.port ?? (ssl ? 443 : 80), timeoutMs };
  const defaultPort = target.port === (ssl ? 443 : 80);
  const url = `${ssl ? 'https' : 'http'}://${host}${defaultPort ? '' : `:${target.port}`}/${options.address !== undefined ? ` (via ${options.address})` : ''}`;
  try {
    return judgeAnswer(await getRoot(target), target, url);
  } catch (error) {
    return describeHttpFailure(error, target, url);
  }
}

// ---- the check -------------------------------------------------------------------------

export const checkTrackingDomain: CheckTrackingDomain = async (host, ssl, options = {}) => {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const outcomes: StepOutcome[] = [];
  const dns = await checkDns(host, timeoutMs, options.address);
  outcomes.push(dns);
  // Without records (and no address to aim at) there is nothing to connect to: the DNS advice is the whole story.
  if (!dns.problem) outcomes.push(await checkHttp(host, ssl, options, timeoutMs));

  const problems = outcomes.filter((outcome) => outcome.problem !== undefined);
  const result: DomainCheckResult = {
    host,
    ok: problems.length === 0,
    steps: outcomes.map((outcome) => outcome.step),
    verdict: problems.length === 0 ? `${host} is ready for tracking` : `${host} is NOT ready: ${problems[0].problem}`,
    advice: problems.map((outcome) => outcome.advice!),
  };
  return result;
};
