import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ClickEvent, OpenEvent } from '@mailbeacon/contracts';
import { locationFor, verifyLink, verifyPixel, type KeyRing } from '@mailbeacon/links';
import express, { type ErrorRequestHandler, type Express, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { storedAddress, type IpStorage } from './client-address';
import type { TrustProxy } from './config';
import type { EventSink } from './event-sink';
import type { HitType, TrackerMetrics, TrackerRoute } from './metrics';

/*
 * The tracker: what recipients' clicks and mail clients' image loads reach, through the
 * operator's proxy. Requests carrying `<hostHeader>: 1` (the proxy adds it for tracking
 * hosts) are tracking requests:
 *
 *   GET|HEAD /               200 "Hello." (what `mailbeacon domains check` looks for)
 *   GET|HEAD /c/…  (valid)   302 to the signed destination, after publishing a click event
 *   GET|HEAD /o/…  (valid)   200 a 43-byte transparent GIF, after publishing an open event
 *   anything else            404 "Not Found": unsigned, tampered, malformed, unknown key,
 *                            other methods; never a redirect
 *
 * Other requests (the operator's monitoring, straight to the tracker) get only /healthz,
 * /readyz and /metrics; everything else is 404. The signature is the only thing checked: no
 * database, no cache, so a click costs an HMAC and the sink's publish.
 */

/** What the tracker needs from pino. */
export type TrackerLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface TrackerAppOptions {
  /** Verifies tracking URLs: every key of the ring (current and previous) is accepted. */
  keys: KeyRing;
  /** Where click and open events go; awaited before answering. */
  sink: EventSink;
  /** The header (any case) whose value `1` marks a tracking request, e.g. `X-Postal-Track-Host`. */
  hostHeader: string;
  /** Express `trust proxy`: whose X-Forwarded-For is believed; false: the socket's address. */
  trustProxy: TrustProxy;
  /** What events keep of the client's address. */
  ipStorage: IpStorage;
  metrics: TrackerMetrics;
  logger: TrackerLogger;
  /** /readyz answers 200 while this says true, 503 otherwise (e.g. while the publisher connects). Default: always ready. */
  ready?: () => boolean;
  /**
   * How long an answer waits for the sink to confirm the event (default 2000 ms; Infinity:
   * as long as it takes). After that the recipient gets the redirect or pixel anyway, the
   * publish goes on, and publish_timeouts_total counts it.
   */
  publishTimeoutMs?: number;
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 2000;
/** Longer User-Agent headers are cut to this many characters in events. */
export const MAX_USER_AGENT_LENGTH = 1024;

/**
 * The smallest valid transparent image: a 1×1 GIF89a, a two-colour global table, a graphic
 * control extension marking colour 0 transparent, one LZW-coded pixel (clear, 0, end) and
 * the trailer.
 */
export const TRANSPARENT_GIF: Buffer = Buffer.from(
  '474946383961' + // GIF89a
    '0100010080' + '0000' + // 1×1, global colour table of 2 entries, background 0, aspect 0
    '000000ffffff' + // colours 0 (black) and 1 (white)
    '21f904' + '01' + '0000' + '00' + '00' + // graphic control: transparent flag, no delay, colour 0 transparent
    '2c' + '00000000' + '01000100' + '00' + // image descriptor: at 0,0, 1×1, no local table
    '02' + '02' + '4401' + '00' + // LZW minimum code size 2, one 2-byte block, end of blocks
    '3b', // trailer
  'hex',
);

const HELLO = Buffer.from('Hello.');
const NOT_FOUND = Buffer.from('Not Found');

// Built once: writeHead copies them, so no header object is made per request.
const TEXT_HEADERS = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' } as const;
const HELLO_HEADERS: OutgoingHttpHeaders = Object.freeze({ ...TEXT_HEADERS, 'Content-Length': HELLO.length });
// no-store as well: a CDN must not keep the 404 of a link signed with a key the tracker learns later.
const NOT_FOUND_HEADERS: OutgoingHttpHeaders = Object.freeze({ ...TEXT_HEADERS, 'Content-Length': NOT_FOUND.length });
const PIXEL_HEADERS: OutgoingHttpHeaders = Object.freeze({
  'Content-Type': 'image/gif',
  'Content-Length': TRANSPARENT_GIF.length,
  'Cache-Control': 'no-store, no-cache, must-revalidate, private',
  Pragma: 'no-cache',
  Expires: '0',
});

function send(res: Response, route: TrackerRoute, status: number, headers: OutgoingHttpHeaders, body?: Buffer): void {
  (res.locals as { route?: TrackerRoute }).route = route;
  res.writeHead(status, headers);
  // On HEAD, node sends the headers (Content-Length included) and drops the body.
  res.end(body);
}

/** Counts and times every answer under its route; unknown paths are `not_found`. */
function observe(metrics: TrackerMetrics): RequestHandler {
  return (_req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route = (res.locals as { route?: TrackerRoute }).route ?? 'not_found';
      metrics.observeRequest(route, res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}

export function createTrackerApp(options: TrackerAppOptions): Express {
  const { keys, sink, metrics, logger, ipStorage } = options;
  const headerName = options.hostHeader.toLowerCase();
  const ready = options.ready ?? (() => true);
  const timeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new RangeError(`publishTimeoutMs must be positive, got ${timeoutMs}`);

  /**
   * Publishes; never throws, so the recipient is always answered. The sink validates against
   * the contracts (the event publisher does, before the queue or the spool sees the event).
   */
  async function publish(event: ClickEvent | OpenEvent): Promise<void> {
    const type: HitType = event.type;
    let publishing: Promise<void>;
    try {
      publishing = sink.publish(event);
    } catch (error) {
      publishing = Promise.reject(error);
    }
    const settled = publishing.then(
      () => metrics.eventPublished(type),
      (error: unknown) => {
        metrics.eventFailed(type, 'publish');
        // The last resort: the whole event is in the log line, so it can still be replayed.
        logger.error({ err: error, event }, 'tracking event lost: the sink rejected it');
      },
    );
    if (timeoutMs === Infinity) return settled;
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([settled.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, timeoutMs, true)))]);
    clearTimeout(timer);
    if (late) {
      metrics.publishTimedOut(type);
      logger.warn({ eventId: event.id, type, timeoutMs }, 'answered before the sink confirmed the event');
    }
  }

  /** The fields every hit records about the request. */
  function hitFields(req: Request) {
    const agent = req.headers['user-agent'];
    return {
      id: uuidv7(),
      at: new Date().toISOString(),
      ip: storedAddress(req.ip, ipStorage),
      userAgent: agent ? (agent.length > MAX_USER_AGENT_LENGTH ? agent.slice(0, MAX_USER_AGENT_LENGTH) : agent) : null,
      method: req.method as 'GET' | 'HEAD',
      ...purposeOf(req),
    };
  }

  /** Prefetch/preview marks for the aggregator's machine rules; absent on ordinary requests. */
  function purposeOf(req: Request): { purpose?: string } {
    const value = req.headers['sec-purpose'] ?? req.headers['purpose'];
    if (typeof value !== 'string' || value.length === 0) return {};
    return { purpose: value.slice(0, 256) };
  }

  function reject(req: Request, res: Response, reason: string): void {
    logger.debug({ method: req.method, path: req.path, reason }, 'not a valid tracking request');
    send(res, 'invalid', 404, NOT_FOUND_HEADERS, NOT_FOUND);
  }

  async function click(req: Request, res: Response): Promise<void> {
    const verified = verifyLink(keys, req.path);
    if (!verified.ok) return reject(req, res, verified.reason);
    const { server, messageToken, linkIndex, url } = verified.value;
    await publish({ type: 'click', server, messageToken, linkIndex, url, ...hitFields(req) });
    (res.locals as { route?: TrackerRoute }).route = 'click';
    res.writeHead(302, { Location: locationFor(url), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Length': 0 });
    res.end();
  }

  async function open(req: Request, res: Response): Promise<void> {
    const verified = verifyPixel(keys, req.path);
    if (!verified.ok) return reject(req, res, verified.reason);
    const { server, messageToken } = verified.value;
    await publish({ type: 'open', server, messageToken, ...hitFields(req) });
    send(res, 'open', 200, PIXEL_HEADERS, TRANSPARENT_GIF);
  }

  /** Everything a tracking host gets; other requests pass on to the operator's routes. */
  const tracking: RequestHandler = (req, res, next) => {
    if (req.headers[headerName] !== '1') return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') return reject(req, res, `method ${req.method}`);
    // The raw path (never percent-decoded): tracking URLs are made of [A-Za-z0-9_-] and '/',
    // so an encoded character anywhere fails verification. The query is ignored.
    const path = req.path;
    if (path.startsWith('/c/')) return click(req, res);
    if (path.startsWith('/o/')) return open(req, res);
    if (path === '/') return send(res, 'hello', 200, HELLO_HEADERS, HELLO);
    reject(req, res, 'not a tracking URL');
  };

  const text = (res: ServerResponse, route: TrackerRoute, status: number, body: string) =>
    send(res as Response, route, status, { ...TEXT_HEADERS, 'Content-Length': Buffer.byteLength(body) }, Buffer.from(body));

  const notFound: RequestHandler = (_req, res) => send(res, 'not_found', 404, NOT_FOUND_HEADERS, NOT_FOUND);

  const errorHandler: ErrorRequestHandler = (error, req, res, next) => {
    logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) return next(error);
    text(res, 'error', 500, 'Internal Server Error');
  };

  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  app.set('trust proxy', options.trustProxy === false ? false : [...options.trustProxy]);
  app.use(observe(metrics), tracking);

  // For the operator (monitoring reaches the tracker directly, without the header).
  app.get('/healthz', (_req, res) => text(res, 'healthz', 200, 'ok'));
  app.get('/readyz', (_req, res) => (ready() ? text(res, 'readyz', 200, 'ready') : text(res, 'readyz', 503, 'not ready')));
  app.get('/metrics', async (_req, res) => {
    const body = await metrics.render();
    (res.locals as { route?: TrackerRoute }).route = 'metrics';
    res.writeHead(200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });

  app.use(notFound, errorHandler);
  return app;
}
