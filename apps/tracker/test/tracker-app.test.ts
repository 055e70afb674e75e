import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Stream } from 'node:stream';
import { trackingEventSchema, type TrackingEvent } from '@mailbeacon/contracts';
import { keyRing, locationFor, signLink, signPixel } from '@mailbeacon/links';
import { capturingLogger } from '@mailbeacon/testing';
import type { Express } from 'express';
import request from 'supertest';
import type { EventSink } from '../src/event-sink';
import { METRIC_NAMES, TrackerMetrics } from '../src/metrics';
import { createTrackerApp, TRANSPARENT_GIF, type TrackerAppOptions } from '../src/tracker-app';

/*
 * The tracker app through HTTP (supertest, and raw node requests where a client library
 * would normalise the path), with a sink that records what it is given.
 */

const SECRET = 'tracker-test-secret-0123456789';
const PREVIOUS_SECRET = 'tracker-previous-secret-0123456789';
const OTHER_SECRET = 'somebody-elses-secret-0123456789';
const keys = keyRing(SECRET, [PREVIOUS_SECRET]);
const TRACKING_HOST = { host: 'click.example.com' };
const SERVER = 'srv_1';
const MESSAGE = 'AbCdEfGhIjKlMnOpQrStUv';
const DESTINATION = 'https://shop.example/sale/?item=42&utm_source=mail#top';
const LINK_INDEX = 3;
const TRACK = { 'X-Postal-Track-Host': '1' };
const UA = 'Mozilla/5.0 (Macintosh) AppleWebKit/605.1.15 (KHTML, like Gecko)';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const pathOf = (url: string) => new URL(url).pathname;
const clickPath = (url = DESTINATION, signer = keys) => pathOf(signLink(signer, TRACKING_HOST, { server: SERVER, messageToken: MESSAGE, linkIndex: LINK_INDEX, url }));
const pixelPath = (signer = keys) => pathOf(signPixel(signer, TRACKING_HOST, { server: SERVER, messageToken: MESSAGE }));
const CLICK = clickPath();
const PIXEL = pixelPath();

/** The tracker's MAC, computed here: signs what signLink refuses to (e.g. a non-http destination). */
function forge(secret: string, fields: readonly string[]): string {
  const mac = createHmac('sha256', secret).update(fields.join('\n')).digest().subarray(0, 16).toString('base64url');
  return `/${fields.join('/')}/${mac}`;
}
const keyId = (secret: string) => keyRing(secret).current.id;
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url');
const forgedClick = (destination: string, secret = SECRET) => forge(secret, ['c', keyId(secret), SERVER, MESSAGE, String(LINK_INDEX), b64(destination)]);

const segmentsOf = (path: string) => path.split('/').slice(1);
function withSegment(path: string, index: number, value: string): string {
  const segments = segmentsOf(path);
  segments[index] = value;
  return `/${segments.join('/')}`;
}
/** The same text with its last character changed to another URL-safe one. */
const alter = (text: string) => text.slice(0, -1) + (text.endsWith('A') ? 'B' : 'A');

class RecordingSink implements EventSink {
  readonly events: TrackingEvent[] = [];
  /** How publish answers; by default the event is stored at once. */
  answer: (event: TrackingEvent) => Promise<void> = () => Promise.resolve();

  publish(event: TrackingEvent): Promise<void> {
    this.events.push(event);
    return this.answer(event);
  }
}

function tracker(overrides: Partial<TrackerAppOptions> = {}) {
  const sink = new RecordingSink();
  const metrics = new TrackerMetrics({ defaultMetrics: false });
  const log = capturingLogger('debug');
  const app = createTrackerApp({ keys, sink, hostHeader: 'X-Postal-Track-Host', trustProxy: false, ipStorage: 'full', metrics, logger: log.logger, ...overrides });
  return { app, sink, metrics, log };
}

/** Reads a response body as bytes, whatever its type. */
function binary(res: Stream, done: (error: Error | null, body: Buffer) => void): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('end', () => done(null, Buffer.concat(chunks)));
}

interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with the path sent exactly as given (no client normalisation of `\` or `//`). */
async function raw(app: Express, method: string, path: string, headers: Record<string, string> = TRACK): Promise<RawAnswer> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, method, path, headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(5);
  expect(condition()).toBe(true);
}

/** A sample of a metric (for histograms, name the series: `..._count`). */
async function sample(metrics: TrackerMetrics, name: string, labels: Record<string, string>, series = name): Promise<number | undefined> {
  const metric = metrics.registry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  return values.find(
    (value) => ((value as { metricName?: string }).metricName ?? name) === series && Object.entries(labels).every(([key, wanted]) => String(value.labels[key]) === wanted),
  )?.value;
}

function expectNotFound(res: { status: number; headers: Record<string, unknown>; text?: string; body?: unknown }): void {
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
  expect(res.headers['cache-control']).toBe('no-store');
  expect(res.headers.location).toBeUndefined();
  expect(res.text ?? res.body).toBe('Not Found');
}

/** Structure of the pixel, byte by byte: a 1×1 GIF89a whose only pixel is the transparent colour. */
function expectTransparentGif(gif: Buffer): void {
  expect(gif.length).toBe(43);
  expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
  expect([gif.readUInt16LE(6), gif.readUInt16LE(8)]).toEqual([1, 1]); // logical screen 1×1
  expect(gif[10]).toBe(0x80); // a global colour table of 2 entries
  expect(gif.subarray(19, 27)).toEqual(Buffer.from([0x21, 0xf9, 0x04, 0x01, 0, 0, 0, 0])); // graphic control: colour 0 transparent
  expect(gif.subarray(27, 37)).toEqual(Buffer.from([0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0])); // image 1×1 at 0,0
  expect([gif[37], gif[38], gif[41]]).toEqual([2, 2, 0]); // LZW code size 2, one 2-byte block, end of data
  const bits = gif[39] | (gif[40] << 8);
  expect([bits & 7, (bits >> 3) & 7, (bits >> 6) & 7]).toEqual([4, 0, 5]); // clear, colour 0, end of information
  expect(gif[42]).toBe(0x3b); // trailer
}

describe('a tracking host’s front page', () => {
  test('GET / answers 200 "Hello." and records nothing', async () => {
    const { app, sink } = tracker();
    const res = await request(app).get('/').set(TRACK).expect(200);
    expect(res.text).toBe('Hello.');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(sink.events).toEqual([]);
  });

  test('HEAD / answers like GET, without the body', async () => {
    const { app, sink } = tracker();
    const res = await request(app).head('/').set(TRACK).expect(200);
    expect(res.headers['content-length']).toBe('6');
    expect(res.text).toBeUndefined();
    expect(sink.events).toEqual([]);
  });
});

describe('clicks', () => {
  test('a signed click redirects (302) to its destination exactly, uncached, without a referrer, after one click event', async () => {
    const { app, sink } = tracker();
    const before = Date.now();
    const res = await request(app).get(CLICK).set(TRACK).set('User-Agent', UA).expect(302);
    const after = Date.now();
    expect(res.headers.location).toBe(DESTINATION);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(res.headers['content-length']).toBe('0');
    expect(res.headers['set-cookie']).toBeUndefined();
    expect(res.headers.etag).toBeUndefined();

    expect(sink.events).toEqual([
      {
        type: 'click',
        id: expect.stringMatching(UUID_V7),
        server: SERVER,
        messageToken: MESSAGE,
        linkIndex: LINK_INDEX,
        url: DESTINATION,
        at: expect.stringMatching(ISO_DATE),
        ip: '127.0.0.1',
        userAgent: UA,
        method: 'GET',
      },
    ]);
    const [event] = sink.events;
    expect(Date.parse(event.at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(event.at)).toBeLessThanOrEqual(after);
    expect(trackingEventSchema.parse(event)).toEqual(event);
  });

  test('HEAD answers like GET and is recorded with method HEAD', async () => {
    const { app, sink } = tracker();
    const res = await request(app).head(CLICK).set(TRACK).set('User-Agent', 'LinkScanner/1.0').expect(302);
    expect(res.headers.location).toBe(DESTINATION);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({ type: 'click', method: 'HEAD', userAgent: 'LinkScanner/1.0', url: DESTINATION });
  });

  test('a prefetch or preview mark (Sec-Purpose, or the older Purpose) is recorded for the machine rules', async () => {
    const { app, sink } = tracker();
    await request(app).get(CLICK).set(TRACK).set('Sec-Purpose', 'prefetch;prerender').expect(302);
    await request(app).get(PIXEL).set(TRACK).set('Purpose', 'preview').expect(200);
    await request(app).get(CLICK).set(TRACK).expect(302);
    expect(sink.events.map((event) => (event.type === 'message' ? undefined : event.purpose))).toEqual(['prefetch;prerender', 'preview', undefined]);
    expect('purpose' in sink.events[2]).toBe(false);
    for (const event of sink.events) expect(trackingEventSchema.parse(event)).toEqual(event);
  });

  test('a query string added to the tracking URL changes nothing, even one naming another site', async () => {
    const { app, sink } = tracker();
    const res = await request(app).get(`${CLICK}?next=https://evil.example/&utm_source=x`).set(TRACK).expect(302);
    expect(res.headers.location).toBe(DESTINATION);
    expect(sink.events).toHaveLength(1);
  });

  test('links signed with a previous key still work', async () => {
    const { app, sink } = tracker();
    const res = await request(app).get(clickPath(DESTINATION, keyRing(PREVIOUS_SECRET))).set(TRACK).expect(302);
    expect(res.headers.location).toBe(DESTINATION);
    expect(sink.events[0]).toMatchObject({ type: 'click', url: DESTINATION });
  });

  test.each([
    'http://example.com',
    'https://example.com/a%2Fb/?q=%22x%22&r=a\'b&s=[1]#frag!',
    'https://user:pw@example.com:8443/p;x=1?y=%zz',
    'HTTPS://EXAMPLE.COM/Upper/Case',
  ])('the Location is the signed destination byte for byte: %s', async (destination) => {
    const { app, sink } = tracker();
    const res = await request(app).get(clickPath(destination)).set(TRACK).expect(302);
    expect(res.headers.location).toBe(destination);
    expect(sink.events[0]).toMatchObject({ url: destination });
  });

  test('a destination with characters a header cannot carry goes out as the browser would request it', async () => {
    const { app } = tracker();
    const unicode = 'https://bücher.example/straße?q=ü#é';
    expect(locationFor(unicode)).toBe('https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC#%C3%A9');
    let res = await raw(app, 'GET', clickPath(unicode));
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('https://xn--bcher-kva.example/stra%C3%9Fe?q=%C3%BC#%C3%A9');
    // A signed URL with CR LF cannot inject a header: browsers drop newlines from URLs, so does the tracker.
    res = await raw(app, 'GET', clickPath('https://example.com/a b\r\nSet-Cookie: x=1'));
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('https://example.com/a%20bSet-Cookie:%20x=1');
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe('the open pixel', () => {
  test('a signed pixel answers the 43-byte transparent GIF, never cached, after one open event', async () => {
    const { app, sink } = tracker();
    const res = await request(app).get(PIXEL).set(TRACK).set('User-Agent', UA).buffer(true).parse(binary).expect(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.headers['content-length']).toBe('43');
    expect(res.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, private');
    expect(res.headers.pragma).toBe('no-cache');
    expect(res.headers.expires).toBe('0');
    expect(res.headers.etag).toBeUndefined();
    expect(res.body).toEqual(TRANSPARENT_GIF);
    expectTransparentGif(res.body as Buffer);

    expect(sink.events).toEqual([
      {
        type: 'open',
        id: expect.stringMatching(UUID_V7),
        server: SERVER,
        messageToken: MESSAGE,
        at: expect.stringMatching(ISO_DATE),
        ip: '127.0.0.1',
        userAgent: UA,
        method: 'GET',
      },
    ]);
    expect(trackingEventSchema.parse(sink.events[0])).toEqual(sink.events[0]);
  });

  test('HEAD answers the same headers without the image and is recorded with method HEAD', async () => {
    const { app, sink } = tracker();
    const res = await raw(app, 'HEAD', PIXEL);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('image/gif');
    expect(res.headers['content-length']).toBe('43');
    expect(res.headers['cache-control']).toBe('no-store, no-cache, must-revalidate, private');
    expect(res.body).toBe('');
    expect(sink.events).toHaveLength(1);
    expect(sink.events[0]).toMatchObject({ type: 'open', method: 'HEAD', userAgent: null });
  });

  test('the GIF constant is a valid transparent 1×1 GIF89a of 43 bytes', () => {
    expectTransparentGif(TRANSPARENT_GIF);
  });
});

describe('the event fields', () => {
  test('each event has its own time-ordered id', async () => {
    const { app, sink } = tracker();
    for (let i = 0; i < 5; i++) await request(app).get(i % 2 ? CLICK : PIXEL).set(TRACK);
    const ids = sink.events.map((event) => event.id);
    expect(new Set(ids).size).toBe(5);
    expect([...ids].sort()).toEqual(ids);
  });

  test('no User-Agent is null; a very long one is cut to 1024 characters', async () => {
    const { app, sink } = tracker();
    await request(app).get(PIXEL).set(TRACK);
    await request(app).get(PIXEL).set(TRACK).set('User-Agent', 'x'.repeat(5000));
    expect(sink.events.map((event) => (event.type === 'open' ? event.userAgent?.length ?? null : undefined))).toEqual([null, 1024]);
  });
});

describe('anything not signed by a known key is a 404, never a redirect', () => {
  const CLICK_FIELDS: [string, number, (segment: string) => string, string][] = [
    ['key id', 1, alter, 'unknown signing key'],
    ['server token', 2, alter, 'bad signature'],
    ['message token', 3, alter, 'bad signature'],
    ['link index', 4, () => String(LINK_INDEX + 1), 'bad signature'],
    ['destination (one character)', 5, alter, 'bad signature'],
    ['destination (another URL)', 5, () => b64('https://evil.example/'), 'bad signature'],
    ['MAC', 6, alter, 'bad signature'],
    ['MAC (truncated)', 6, (mac) => mac.slice(0, -1), 'bad signature'],
  ];
  test.each(CLICK_FIELDS)('click with a tampered %s', async (_field, index, change, reason) => {
    const { app, sink, log } = tracker();
    const path = withSegment(CLICK, index, change(segmentsOf(CLICK)[index]));
    expect(path).not.toBe(CLICK);
    expectNotFound(await request(app).get(path).set(TRACK));
    const head = await request(app).head(path).set(TRACK);
    expect([head.status, head.headers.location, head.headers['content-length']]).toEqual([404, undefined, '9']);
    expect(sink.events).toEqual([]);
    expect(log.records).toContainEqual(expect.objectContaining({ msg: 'not a valid tracking request', reason }));
  });

  const PIXEL_FIELDS: [string, number, string][] = [
    ['key id', 1, 'unknown signing key'],
    ['server token', 2, 'bad signature'],
    ['message token', 3, 'bad signature'],
    ['MAC', 4, 'bad signature'],
  ];
  test.each(PIXEL_FIELDS)('pixel with a tampered %s', async (_field, index, reason) => {
    const { app, sink, log } = tracker();
    const res = await request(app).get(withSegment(PIXEL, index, alter(segmentsOf(PIXEL)[index]))).set(TRACK);
    expectNotFound(res);
    expect(sink.events).toEqual([]);
    expect(log.records).toContainEqual(expect.objectContaining({ msg: 'not a valid tracking request', reason }));
  });

  test.each([
    ['a click URL under /o/', `/o${CLICK.slice(2)}`],
    ['a pixel URL under /c/', `/c${PIXEL.slice(2)}`],
    ['an upper-case kind', `/C${CLICK.slice(2)}`],
    ['a trailing slash', `${CLICK}/`],
    ['an extra segment', `${CLICK}/x`],
    ['a missing segment', CLICK.slice(0, CLICK.lastIndexOf('/'))],
    ['an empty segment', withSegment(CLICK, 3, '')],
    ['a doubled slash', CLICK.replace('/c/', '/c//')],
    ['a link index with a leading zero', withSegment(CLICK, 4, `0${LINK_INDEX}`)],
    ['a negative link index', withSegment(CLICK, 4, '-3')],
    ['padding in the destination', withSegment(CLICK, 5, `${segmentsOf(CLICK)[5]}=`)],
    ['percent-encoded letters', CLICK.replace(/[A-Za-z](?=[^/]*$)/, (c) => `%${c.charCodeAt(0).toString(16)}`)],
    ['an unsigned click', `/c/${keyId(SECRET)}/${SERVER}/${MESSAGE}/0/${b64('https://evil.example/')}`],
    ['an unsigned pixel', `/o/${keyId(SECRET)}/${SERVER}/${MESSAGE}`],
    ['a short message token', withSegment(PIXEL, 3, 'short')],
    ['an unknown prefix', `/x${CLICK.slice(2)}`],
    ['a random path', '/wp-login.php'],
    ['the health check', '/healthz'],
    ['the readiness check', '/readyz'],
    ['the metrics', '/metrics'],
  ])('%s', async (_case, path) => {
    const { app, sink } = tracker();
    expectNotFound(await request(app).get(path).set(TRACK));
    expect(sink.events).toEqual([]);
  });

  test('a link signed with another key is refused, with its key id or ours', async () => {
    const { app, sink, log } = tracker();
    const foreign = clickPath(DESTINATION, keyRing(OTHER_SECRET));
    expectNotFound(await request(app).get(foreign).set(TRACK));
    expectNotFound(await request(app).get(withSegment(foreign, 1, keyId(SECRET))).set(TRACK));
    expectNotFound(await request(app).get(pixelPath(keyRing(OTHER_SECRET))).set(TRACK));
    expect(sink.events).toEqual([]);
    expect(log.records.filter((record) => record.msg === 'not a valid tracking request').map((record) => record.reason)).toEqual([
      'unknown signing key',
      'bad signature',
      'unknown signing key',
    ]);
  });

  test.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('%s of a valid click or pixel URL', async (method) => {
    const { app, sink } = tracker();
    for (const path of [CLICK, PIXEL, '/']) {
      const res = await raw(app, method, path);
      expect(res.status).toBe(404);
      expect(res.headers.location).toBeUndefined();
    }
    expect(sink.events).toEqual([]);
  });
});

describe('open-redirect attempts', () => {
  test('the forging helper computes the real MAC (so the signatures below are genuine)', () => {
    expect(forgedClick(DESTINATION)).toBe(CLICK);
  });

  test.each([
    '//evil.example',
    '//evil.example/path',
    '/\\evil.example',
    '\\\\evil.example',
    'https:evil.example',
    'https:/evil.example',
    'https:\\\\evil.example',
    'http:\\\\evil.example/x',
    'https:/\\evil.example',
    ' https://evil.example/',
    'javascript:alert(document.domain)',
    'data:text/html,<script>alert(1)</script>',
    'ftp://evil.example/',
    'https://',
    '/relative/path',
    'evil.example',
  ])('a correctly signed destination that is not an absolute http(s) URL: %j', async (destination) => {
    const { app, sink, log } = tracker();
    const res = await request(app).get(forgedClick(destination)).set(TRACK);
    expectNotFound(res);
    expect(sink.events).toEqual([]);
    expect(log.records).toContainEqual(expect.objectContaining({ reason: 'destination is not an http(s) URL' }));
  });

  test.each([
    ['a protocol-relative path', '//evil.example'],
    ['a protocol-relative path with a trailing slash', '//evil.example/'],
    ['a backslash path', '/\\evil.example'],
    ['a click URL with backslashes after the first slash', `/${CLICK.slice(1).replaceAll('/', '\\')}`],
    ['a click URL with one backslash', CLICK.replace('/c/', '/c\\')],
    ['encoded slashes after the first slash', `/${CLICK.slice(1).replaceAll('/', '%2F')}`],
    ['encoded slashes after /c', `/c${CLICK.slice(2).replaceAll('/', '%2f')}`],
    ['an encoded protocol-relative destination', withSegment(CLICK, 5, '%2F%2Fevil.example')],
    ['an encoded backslash', `/%5C${CLICK.slice(1)}`],
    ['a destination as the path', '/https://evil.example/'],
    ['a destination after the MAC', `${CLICK}//evil.example`],
    ['dot segments', `${CLICK}/../../../../../../..//evil.example`],
    ['the destination URL as the link', `/c/${keyId(SECRET)}/${SERVER}/${MESSAGE}/0/https://evil.example/x`],
  ])('%s in the request path', async (_case, path) => {
    const { app, sink } = tracker();
    const res = await raw(app, 'GET', path);
    expect(res.status).toBe(404);
    expect(res.headers.location).toBeUndefined();
    expect(res.body).toBe('Not Found');
    expect(sink.events).toEqual([]);
  });

  test.each([
    ['backslashes', '\\\\evil.example'],
    ['a click URL with backslashes for slashes', CLICK.replaceAll('/', '\\')],
    ['encoded slashes', CLICK.replaceAll('/', '%2F')],
  ])('%s as the whole request target: refused by the HTTP server itself (400), before the app', async (_case, path) => {
    const { app, sink } = tracker();
    const res = await raw(app, 'GET', path);
    expect(res.status).toBe(400);
    expect(res.headers.location).toBeUndefined();
    expect(sink.events).toEqual([]);
  });
});

describe('header gating', () => {
  test('without the header nothing is tracked: /, clicks and pixels are 404', async () => {
    const { app, sink } = tracker();
    for (const path of ['/', CLICK, PIXEL]) {
      expectNotFound(await request(app).get(path));
      expectNotFound(await request(app).get(path).set('User-Agent', UA));
    }
    expect(sink.events).toEqual([]);
  });

  test.each(['0', 'true', 'yes', '', '11', '1, 1'])('a header value other than 1 (%j) is not a tracking request', async (value) => {
    const { app, sink } = tracker();
    expectNotFound(await request(app).get(CLICK).set('X-Postal-Track-Host', value));
    expect(sink.events).toEqual([]);
  });

  test('the header name is matched in any case', async () => {
    const { app, sink } = tracker();
    await request(app).get(CLICK).set('x-postal-track-host', '1').expect(302);
    await request(app).get(PIXEL).set('X-POSTAL-TRACK-HOST', '1').expect(200);
    expect(sink.events).toHaveLength(2);
  });

  test('a configured header name replaces the default one', async () => {
    const { app, sink } = tracker({ hostHeader: 'X-Mailbeacon-Track' });
    await request(app).get('/').set('X-Mailbeacon-Track', '1').expect(200, 'Hello.');
    await request(app).get(CLICK).set('X-Mailbeacon-Track', '1').expect(302);
    expectNotFound(await request(app).get(CLICK).set(TRACK));
    expect(sink.events).toHaveLength(1);
  });

  test('without the header: /healthz, /readyz and /metrics, for GET and HEAD only', async () => {
    const { app, sink } = tracker();
    let res = await request(app).get('/healthz').expect(200);
    expect(res.text).toBe('ok');
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    res = await request(app).get('/readyz').expect(200);
    expect(res.text).toBe('ready');
    res = await request(app).get('/metrics').expect(200);
    expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(res.text).toContain(`# TYPE ${METRIC_NAMES.requests} counter`);
    await request(app).head('/healthz').expect(200);
    await request(app).head('/metrics').expect(200);
    expectNotFound(await request(app).post('/healthz'));
    expectNotFound(await request(app).delete('/metrics'));
    expectNotFound(await request(app).get('/healthz/'.concat('x')));
    expect(sink.events).toEqual([]);
  });

  test('/readyz follows ready()', async () => {
    let ready = false;
    const { app } = tracker({ ready: () => ready });
    const res = await request(app).get('/readyz').expect(503);
    expect(res.text).toBe('not ready');
    ready = true;
    await request(app).get('/readyz').expect(200, 'ready');
    // /healthz says only that the process answers.
    ready = false;
    await request(app).get('/healthz').expect(200, 'ok');
  });
});

describe('the client address', () => {
  test('X-Forwarded-For is ignored when no proxy is trusted', async () => {
    const { app, sink } = tracker({ trustProxy: false });
    await request(app).get(CLICK).set(TRACK).set('X-Forwarded-For', '203.0.113.7').expect(302);
    expect(sink.events[0].type === 'click' && sink.events[0].ip).toBe('127.0.0.1');
  });

  test('X-Forwarded-For from a trusted proxy gives the client (the rightmost untrusted hop)', async () => {
    const { app, sink } = tracker({ trustProxy: ['loopback'] });
    await request(app).get(CLICK).set(TRACK).set('X-Forwarded-For', '203.0.113.7').expect(302);
    // A client's own X-Forwarded-For is to the left of what the proxy appends: not believed.
    await request(app).get(PIXEL).set(TRACK).set('X-Forwarded-For', '198.51.100.1, 203.0.113.8').expect(200);
    await request(app).get(PIXEL).set(TRACK).expect(200);
    expect(sink.events.map((event) => (event.type === 'message' ? undefined : event.ip))).toEqual(['203.0.113.7', '203.0.113.8', '127.0.0.1']);
  });

  test('a chain of trusted proxies is walked back to the first untrusted address', async () => {
    const { app, sink } = tracker({ trustProxy: ['loopback', '10.0.0.0/8'] });
    await request(app).get(PIXEL).set(TRACK).set('X-Forwarded-For', '198.51.100.1, 203.0.113.9, 10.1.2.3').expect(200);
    expect(sink.events[0]).toMatchObject({ ip: '203.0.113.9' });
  });

  test('X-Forwarded-For from an address that is not a trusted proxy is ignored', async () => {
    const { app, sink } = tracker({ trustProxy: ['10.0.0.0/8'] });
    await request(app).get(PIXEL).set(TRACK).set('X-Forwarded-For', '203.0.113.7').expect(200);
    expect(sink.events[0]).toMatchObject({ ip: '127.0.0.1' });
  });

  test.each([
    ['full', '203.0.113.7', '203.0.113.7'],
    ['full', '2001:db8:85a3::8a2e:370:7348', '2001:db8:85a3::8a2e:370:7348'],
    ['full', '::ffff:203.0.113.7', '203.0.113.7'],
    ['truncated', '203.0.113.7', '203.0.113.0'],
    ['truncated', '2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3::'],
    ['truncated', '::ffff:203.0.113.7', '203.0.113.0'],
    ['none', '203.0.113.7', null],
    ['none', '2001:db8::1', null],
    ['full', 'unknown', null],
    ['truncated', 'unknown', null],
  ] as const)('IP_STORAGE=%s keeps %s as %j', async (ipStorage, address, stored) => {
    const { app, sink } = tracker({ trustProxy: ['loopback'], ipStorage });
    await request(app).get(CLICK).set(TRACK).set('X-Forwarded-For', address).expect(302);
    await request(app).get(PIXEL).set(TRACK).set('X-Forwarded-For', address).expect(200);
    expect(sink.events.map((event) => (event.type === 'message' ? undefined : event.ip))).toEqual([stored, stored]);
  });

  test('the socket address is subject to the policy too', async () => {
    const { app, sink } = tracker({ trustProxy: false, ipStorage: 'truncated' });
    await request(app).get(PIXEL).set(TRACK).expect(200);
    expect(sink.events[0]).toMatchObject({ ip: '127.0.0.0' });
  });
});

describe('publishing', () => {
  test('the answer waits until the sink has the event', async () => {
    const { app, sink } = tracker();
    const stored = deferred();
    sink.answer = () => stored.promise;
    let answered = false;
    const pending = request(app)
      .get(CLICK)
      .set(TRACK)
      .then((res) => {
        answered = true;
        return res;
      });
    await until(() => sink.events.length === 1);
    await sleep(50);
    expect(answered).toBe(false);
    stored.resolve();
    const res = await pending;
    expect(res.status).toBe(302);
    expect(answered).toBe(true);
  });

  test('a sink that rejects: the recipient is still redirected; the event is logged in full and counted', async () => {
    const { app, sink, metrics, log } = tracker();
    sink.answer = () => Promise.reject(new Error('redis away and disk full'));
    const res = await request(app).get(CLICK).set(TRACK).expect(302);
    expect(res.headers.location).toBe(DESTINATION);
    await request(app).get(PIXEL).set(TRACK).expect(200);
    expect(sink.events).toHaveLength(2);
    const lost = log.records.filter((record) => record.msg === 'tracking event lost: the sink rejected it');
    expect(lost).toHaveLength(2);
    expect(lost[0]).toMatchObject({ level: 50, err: expect.objectContaining({ message: 'redis away and disk full' }), event: sink.events[0] });
    expect(await sample(metrics, METRIC_NAMES.eventFailures, { type: 'click', reason: 'publish' })).toBe(1);
    expect(await sample(metrics, METRIC_NAMES.eventFailures, { type: 'open', reason: 'publish' })).toBe(1);
    expect(await sample(metrics, METRIC_NAMES.eventsPublished, { type: 'click' })).toBe(0);
  });

  test('a sink that throws: the pixel is still served', async () => {
    const { app, sink, metrics } = tracker();
    sink.publish = () => {
      throw new Error('not connected');
    };
    const res = await request(app).get(PIXEL).set(TRACK).buffer(true).parse(binary).expect(200);
    expect(res.body).toEqual(TRANSPARENT_GIF);
    expect(await sample(metrics, METRIC_NAMES.eventFailures, { type: 'open', reason: 'publish' })).toBe(1);
  });

  test('a sink slower than publishTimeoutMs: answered at the timeout, the publish still counted when it lands', async () => {
    const { app, sink, metrics, log } = tracker({ publishTimeoutMs: 100 });
    const stored = deferred();
    sink.answer = () => stored.promise;
    const started = Date.now();
    await request(app).get(CLICK).set(TRACK).expect(302);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(await sample(metrics, METRIC_NAMES.publishTimeouts, { type: 'click' })).toBe(1);
    expect(log.records).toContainEqual(expect.objectContaining({ level: 40, msg: 'answered before the sink confirmed the event', eventId: sink.events[0].id }));
    expect(await sample(metrics, METRIC_NAMES.eventsPublished, { type: 'click' })).toBe(0);
    stored.resolve();
    await sleep(10);
    expect(await sample(metrics, METRIC_NAMES.eventsPublished, { type: 'click' })).toBe(1);
  });

  test('exactly one event per tracked request, none for anything else', async () => {
    const { app, sink } = tracker();
    const hits: [string, string, boolean][] = [
      ['GET', CLICK, true],
      ['HEAD', CLICK, true],
      ['GET', PIXEL, true],
      ['HEAD', PIXEL, true],
      ['GET', '/', false],
      ['GET', alter(CLICK), false],
      ['POST', CLICK, false],
      ['GET', `${PIXEL}?x=1`, true],
    ];
    for (const [method, path, tracked] of hits) {
      const before = sink.events.length;
      await raw(app, method, path);
      expect([method, path, sink.events.length - before]).toEqual([method, path, tracked ? 1 : 0]);
    }
    // Without the header, nothing.
    for (const [method, path] of hits) await raw(app, method, path, {});
    expect(sink.events.map((event) => [event.type, event.type === 'message' ? undefined : event.method])).toEqual([
      ['click', 'GET'],
      ['click', 'HEAD'],
      ['open', 'GET'],
      ['open', 'HEAD'],
      ['open', 'GET'],
    ]);
  });
});

describe('metrics', () => {
  test('requests by route and status, their latency, and published events', async () => {
    const { app, metrics } = tracker();
    await request(app).get(CLICK).set(TRACK).expect(302);
    await request(app).head(CLICK).set(TRACK).expect(302);
    await request(app).get(PIXEL).set(TRACK).expect(200);
    await request(app).get('/').set(TRACK).expect(200);
    await request(app).get(alter(PIXEL)).set(TRACK).expect(404);
    await request(app).get(CLICK).expect(404);
    await request(app).get('/healthz').expect(200);

    const requests = (route: string, status: string) => sample(metrics, METRIC_NAMES.requests, { route, status });
    expect(await requests('click', '302')).toBe(2);
    expect(await requests('open', '200')).toBe(1);
    expect(await requests('hello', '200')).toBe(1);
    expect(await requests('invalid', '404')).toBe(1);
    expect(await requests('not_found', '404')).toBe(1);
    expect(await requests('healthz', '200')).toBe(1);
    expect(await sample(metrics, METRIC_NAMES.requestDuration, { route: 'click' }, `${METRIC_NAMES.requestDuration}_count`)).toBe(2);
    expect(await sample(metrics, METRIC_NAMES.eventsPublished, { type: 'click' })).toBe(2);
    expect(await sample(metrics, METRIC_NAMES.eventsPublished, { type: 'open' })).toBe(1);

    const text = (await request(app).get('/metrics').expect(200)).text;
    expect(text).toContain(`${METRIC_NAMES.requests}{route="click",status="302"} 2`);
    expect(text).toContain(`${METRIC_NAMES.eventFailures}{type="click",reason="publish"} 0`);
    expect(text).toContain(`${METRIC_NAMES.requestDuration}_bucket{le="0.0005",route="click"}`);
  });

  test('the wiring can add gauges; default process metrics are on unless turned off; registries are separate', async () => {
    const withDefaults = new TrackerMetrics();
    const other = new TrackerMetrics({ defaultMetrics: false });
    let spooled = 7;
    const gauge = withDefaults.registerGauge({ name: 'mailbeacon_tracker_spool_events', help: 'Events waiting in the spool', collect: () => spooled });
    const manual = withDefaults.registerGauge({ name: 'mailbeacon_tracker_redis_connected', help: 'Redis connection up' });
    manual.set(1);
    let text = await withDefaults.render();
    expect(text).toContain('mailbeacon_tracker_spool_events 7');
    expect(text).toContain('mailbeacon_tracker_redis_connected 1');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    spooled = 3;
    text = await withDefaults.render();
    expect(text).toContain('mailbeacon_tracker_spool_events 3');
    expect(gauge).toBeDefined();

    const otherText = await other.render();
    expect(otherText).not.toContain('process_cpu_user_seconds_total');
    expect(otherText).not.toContain('spool_events');
    expect(other.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

describe('createTrackerApp', () => {
  test('refuses a publish timeout that is not positive and a trust list proxy-addr cannot read', () => {
    expect(() => tracker({ publishTimeoutMs: 0 })).toThrow(RangeError);
    expect(() => tracker({ trustProxy: ['not an address'] })).toThrow(TypeError);
  });

  test('publishTimeoutMs Infinity waits as long as the sink takes', async () => {
    const { app, sink } = tracker({ publishTimeoutMs: Infinity });
    const stored = deferred();
    sink.answer = () => stored.promise;
    setTimeout(() => stored.resolve(), 150);
    const started = Date.now();
    await request(app).get(PIXEL).set(TRACK).expect(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
