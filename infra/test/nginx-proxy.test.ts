import { spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import * as libqp from 'libqp';
import type { TrackingEvent } from '@mailbeacon/contracts';
import { keyRing, locationFor, MAX_TRACKING_URL_LENGTH, signLink, signPixel } from '@mailbeacon/links';
import { rewriteMessage } from '@mailbeacon/rewrite';
import {
  adaptedCopy,
  capturingLogger,
  certificate,
  closeServer,
  freePort,
  largestFitting,
  listenOnLoopback,
  listenPort,
  NGINX_CONF,
  nginxSetup,
  nginxTest,
  requireNginx,
  startNginx,
  startTrackingProxy,
  stopNginx,
  upstreamServer,
  UPSTREAM_CONF_SERVER,
  type TrackingProxy,
} from '@mailbeacon/testing';
import { createTrackerApp, TrackerMetrics, TRACKER_SERVER_OPTIONS, TRANSPARENT_GIF, type EventSink } from '../../apps/tracker/src';

/*
 * The tracking-host proxy as shipped: the real nginx (/usr/sbin/nginx) runs with the files
 * of infra/nginx/ in front of a stand-in HTTP server that records what reaches it, and in
 * front of the real tracker app.
 *
 * The files are used as they are, with these exceptions only, made line by line in a temporary
 * copy (adaptedCopy, in @mailbeacon/testing's nginx support, checks that each one applies and
 * leaves every other line untouched):
 *   - `listen 80` / `listen 443` → a free port (nobody may bind 80/443 in a test);
 *   - upstream.conf's `server 127.0.0.1:8080` (upstream.compose.conf's `server tracker:8080`)
 *     → the stand-in's or the tracker's port;
 *   - tracking-host-tls.conf's ssl_certificate / ssl_certificate_key paths → a self-signed
 *     certificate made here with openssl.
 * (startTrackingProxy runs tracking-host.conf + upstream.conf with exactly the first two.)
 * The access log goes where the files say (/var/log/nginx/access.log): the test checks there
 * that query strings are not logged.
 *
 * Clients connect from 127.0.0.2 (all of 127/8 is loopback on Linux) while nginx reaches the
 * upstream from 127.0.0.1, so the address the upstream is told is visibly nginx's $remote_addr.
 */

const CONF = NGINX_CONF;
const ACCESS_LOG = '/var/log/nginx/access.log';
const CLIENT_ADDRESS = '127.0.0.2';
const TRACKING_HOST = 'click.example.test';

// ---------------------------------------------------------------------------------------------
// Clients and the stand-in

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Send {
  port: number;
  path: string;
  headers?: Record<string, string>;
  method?: string;
  tls?: boolean;
  /** Default CLIENT_ADDRESS; the connection's source address. */
  from?: string;
}

/** One request on its own connection, the path sent exactly as given. */
function send({ port, path: requestPath, headers = {}, method = 'GET', tls = false, from = CLIENT_ADDRESS }: Send): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = { host: '127.0.0.1', port, path: requestPath, method, headers: { Host: TRACKING_HOST, ...headers }, localAddress: from, agent: false };
    const req = tls ? https.request({ ...options, servername: TRACKING_HOST, rejectUnauthorized: false }) : http.request(options);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  remoteAddress: string | undefined;
}

/** An upstream that records each request and answers 200 `stand-in`. */
async function standIn(): Promise<{ server: http.Server; port: number; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, remoteAddress: req.socket.remoteAddress });
    res.writeHead(200, { 'content-type': 'text/plain' }).end('stand-in');
  });
  return { server, port: await listenOnLoopback(server), seen };
}

/** The last `bytes` of a file, or '' when it does not exist. */
function tail(file: string, bytes = 256 * 1024): string {
  if (!existsSync(file)) return '';
  const size = statSync(file).size;
  const length = Math.min(size, bytes);
  const buffer = Buffer.alloc(length);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buffer, 0, length, size - length);
  } finally {
    closeSync(fd);
  }
  return buffer.toString('utf8');
}

const directives = (file: string, prefix: RegExp) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => prefix.test(line));

const temporaryDirs: string[] = [];
function temporaryDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `mailbeacon-nginx-${label}-`));
  temporaryDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of temporaryDirs) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------

describe('infra/nginx files', () => {
  beforeAll(requireNginx);

  it('the plain and the TLS server blocks proxy tracking requests the same way', () => {
    const proxyDirectives = (file: string) => directives(file, /^proxy_/);
    expect(proxyDirectives(CONF.plain)).toContain('proxy_set_header X-Postal-Track-Host 1;');
    expect(proxyDirectives(CONF.plain)).toContain('proxy_set_header X-Forwarded-For $remote_addr;');
    expect(proxyDirectives(CONF.tls)).toEqual(proxyDirectives(CONF.plain));
    expect(directives(CONF.tls, /^client_|^send_timeout|^keepalive_timeout/)).toEqual(directives(CONF.plain, /^client_|^send_timeout|^keepalive_timeout/));
    // Every server block (the TLS file's port-80 redirect too) reads the longest tracking URL.
    const headerBuffers = directives(CONF.plain, /^large_client_header_buffers\s/);
    expect(headerBuffers).toHaveLength(1);
    expect(directives(CONF.tls, /^large_client_header_buffers\s/)).toEqual([headerBuffers[0], headerBuffers[0]]);
  });

  it('upstream.conf and upstream.compose.conf define the same upstream, each valid with the server block (nginx -t)', async () => {
    const upstreamName = (file: string) => directives(file, /^upstream\s/);
    expect(upstreamName(CONF.upstreamCompose)).toEqual(['upstream mailbeacon_tracker {']);
    expect(upstreamName(CONF.upstream)).toEqual(upstreamName(CONF.upstreamCompose));

    const port = await freePort();
    for (const [upstream, address] of [
      [CONF.upstream, UPSTREAM_CONF_SERVER],
      [CONF.upstreamCompose, 'tracker:8080'], // `tracker` resolves only on the compose network
    ] as const) {
      const dir = temporaryDir('check');
      const upstreamCopy = path.join(dir, 'upstream.conf');
      adaptedCopy(upstream, upstreamCopy, [upstreamServer(address, port)]);
      // The plain server block needs no rewrite for `nginx -t`: it checks files, binds nothing.
      expect(nginxTest(nginxSetup(dir, [upstreamCopy, CONF.plain], []))).toContain('test is successful');
    }
  });
});

describe('tracking-host.conf in front of a stand-in upstream', () => {
  let upstream: Awaited<ReturnType<typeof standIn>>;
  let nginx: TrackingProxy | undefined;
  let port: number;

  beforeAll(async () => {
    requireNginx();
    upstream = await standIn();
    nginx = await startTrackingProxy({ trackerPort: upstream.port, dir: temporaryDir('plain') });
    port = nginx.port;
  });

  afterAll(async () => {
    await nginx?.stop();
    if (upstream) await closeServer(upstream.server);
  });

  beforeEach(() => {
    upstream.seen.length = 0;
  });

  it('adds X-Postal-Track-Host: 1 and passes Host, the path and the query string unchanged', async () => {
    const requestPath = '/c/a%2Fb//C_d-9/x?utm_source=mail&q=%20%2F&empty=&x=1';
    const answer = await send({ port, path: requestPath });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('stand-in');
    expect(upstream.seen).toHaveLength(1);
    const [seen] = upstream.seen;
    expect(seen.method).toBe('GET');
    expect(seen.url).toBe(requestPath);
    expect(seen.headers['x-postal-track-host']).toBe('1');
    expect(seen.headers.host).toBe(TRACKING_HOST);
    expect(seen.headers['x-forwarded-for']).toBe(CLIENT_ADDRESS);
    expect(seen.headers['x-real-ip']).toBe(CLIENT_ADDRESS);
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.remoteAddress).toBe('127.0.0.1'); // nginx's own connection, not the client's
  });

  it("overwrites the client's X-Forwarded-For, X-Real-IP, Forwarded and X-Postal-Track-Host", async () => {
    await send({
      port,
      path: '/',
      headers: { 'X-Forwarded-For': '6.6.6.6', 'X-Real-IP': '6.6.6.6', Forwarded: 'for=6.6.6.6', 'X-Postal-Track-Host': '0', 'X-Forwarded-Host': 'evil.example' },
    });
    expect(upstream.seen).toHaveLength(1);
    const { headers } = upstream.seen[0];
    expect(headers['x-forwarded-for']).toBe(CLIENT_ADDRESS);
    expect(headers['x-real-ip']).toBe(CLIENT_ADDRESS);
    expect(headers['x-postal-track-host']).toBe('1');
    expect(headers['x-forwarded-host']).toBe(TRACKING_HOST);
    expect(headers.forwarded).toBeUndefined();
  });

  it('serves any host pointed at it (default_server) and keeps it in Host', async () => {
    await send({ port, path: '/', headers: { Host: 'track.another-domain.test' } });
    expect(upstream.seen[0].headers.host).toBe('track.another-domain.test');
    expect(upstream.seen[0].headers['x-postal-track-host']).toBe('1');
  });

  it('passes HEAD requests (link scanners) through as HEAD', async () => {
    const answer = await send({ port, path: '/o/x', method: 'HEAD' });
    expect(answer.status).toBe(200);
    expect(upstream.seen.map((seen) => seen.method)).toEqual(['HEAD']);
  });

  it('logs the path without the query string', async () => {
    const agent = `mailbeacon-nginx-test/${randomUUID()}`;
    const secret = randomUUID();
    await send({ port, path: `/c/logged-path?token=${secret}`, headers: { 'User-Agent': agent } });
    let line: string | undefined;
    const deadline = Date.now() + 5000;
    while (!line && Date.now() < deadline) {
      line = tail(ACCESS_LOG)
        .split('\n')
        .find((entry) => entry.includes(agent));
      if (!line) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(line).toBeDefined();
    expect(line).toContain(`${CLIENT_ADDRESS} `);
    expect(line).toContain(`${TRACKING_HOST} "GET /c/logged-path" 200`);
    expect(line).not.toContain(secret);
    expect(line).not.toContain('?');
  });
});

describe('tracking-host.conf in front of the real tracker', () => {
  const keys = keyRing('nginx-proxy-test-secret-0123456789');
  const SERVER = 'srv_1';
  const MESSAGE = 'AbCdEfGhIjKlMnOpQrStUv';
  const DESTINATION = 'https://shop.example/sale/?item=42&utm_source=mail#top';
  const BROWSER = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36';
  const events: TrackingEvent[] = [];
  const sink: EventSink = {
    publish(event) {
      events.push(event);
      return Promise.resolve();
    },
  };
  let tracker: http.Server | undefined;
  let trackerPort: number;
  let nginx: TrackingProxy | undefined;
  let port: number;

  beforeAll(async () => {
    requireNginx();
    const app = createTrackerApp({
      keys,
      sink,
      hostHeader: 'X-Postal-Track-Host',
      trustProxy: ['loopback'], // the process default (TRUST_PROXY=loopback): nginx on the same machine
      ipStorage: 'full',
      metrics: new TrackerMetrics({ defaultMetrics: false }),
      logger: capturingLogger('debug').logger,
    });
    tracker = http.createServer(TRACKER_SERVER_OPTIONS, app);
    trackerPort = await listenOnLoopback(tracker);
    nginx = await startTrackingProxy({ trackerPort, dir: temporaryDir('tracker') });
    port = nginx.port;
  });

  afterAll(async () => {
    await nginx?.stop();
    if (tracker) await closeServer(tracker);
  });

  beforeEach(() => {
    events.length = 0;
  });

  it('GET / through nginx answers Hello. (what `mailbeacon domains check` looks for)', async () => {
    const answer = await send({ port, path: '/' });
    expect(answer.status).toBe(200);
    expect(answer.body.toString()).toBe('Hello.');
  });

  it('a signed click through nginx redirects, and its event has the address nginx saw, not a forged one', async () => {
    const click = new URL(signLink(keys, { host: TRACKING_HOST }, { server: SERVER, messageToken: MESSAGE, linkIndex: 2, url: DESTINATION }));
    const answer = await send({ port, path: `${click.pathname}?utm_campaign=ignored`, headers: { 'User-Agent': BROWSER, 'X-Forwarded-For': '6.6.6.6' } });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(DESTINATION);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'click', server: SERVER, messageToken: MESSAGE, linkIndex: 2, url: DESTINATION, ip: CLIENT_ADDRESS, userAgent: BROWSER, method: 'GET' });
  });

  it.each([
    ['ASCII, sent verbatim in Location', 'a'],
    ['non-ASCII, percent-encoded in Location', '\u00e9'],
  ])('the longest link the rewriter tracks redirects through nginx to its exact destination; one character more stays untracked, with a note (%s)', async (_name, filler) => {
    const destination = (n: number) => `https://shop.example/landing?ref=${filler.repeat(n)}`;
    const messageWith = (url: string) =>
      Buffer.from(
        `From: news@shop.example\r\nTo: reader@example.net\r\nSubject: Sale\r\nMIME-Version: 1.0\r\n` +
          `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<body><a href="${url}">Sale</a></body>\r\n`,
      );
    const rewrite = (url: string) =>
      rewriteMessage(messageWith(url), { trackingDomain: TRACKING_HOST, ssl: false, server: SERVER, keys, messageToken: MESSAGE, trackOpens: false });
    const n = await largestFitting(async (length) => (await rewrite(destination(length))).links.length === 1, MAX_TRACKING_URL_LENGTH);

    const tracked = await rewrite(destination(n));
    // The long line made the part quoted-printable.
    const body = libqp.decode(tracked.raw.subarray(tracked.raw.indexOf('\r\n\r\n'))).toString('latin1');
    const trackingUrl = new RegExp(`http://${TRACKING_HOST.replace(/\./g, '\\.')}/c/[A-Za-z0-9_\\-/]+`).exec(body)?.[0];
    expect(trackingUrl).toBeDefined();
    // At the limit: the tracking URL (ASCII) or the percent-encoded redirect (non-ASCII).
    expect(Math.max(trackingUrl!.length, locationFor(destination(n)).length)).toBeGreaterThan(MAX_TRACKING_URL_LENGTH - 6);
    const answer = await send({ port, path: new URL(trackingUrl!).pathname, headers: { 'User-Agent': BROWSER } });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(filler === 'a' ? destination(n) : new URL(destination(n)).href);
    expect(answer.headers.location).toBe(locationFor(destination(n)));
    expect(events).toEqual([expect.objectContaining({ type: 'click', url: destination(n), messageToken: MESSAGE })]);

    const input = messageWith(destination(n + 1));
    const over = await rewrite(destination(n + 1));
    expect(over.skipped).toBeUndefined();
    expect(over.links).toEqual([]);
    expect(over.raw.equals(input)).toBe(true);
    expect(over.notes).toEqual([expect.stringMatching(new RegExp(`^part 1 \\(text/html\\): 1 link left untracked: tracking URL or redirect over ${MAX_TRACKING_URL_LENGTH} characters .*, whose .* would be \\d+ characters$`))]);
    expect(over.notes[0]).toContain(filler === 'a' ? 'whose tracking URL would be' : 'whose redirect (percent-encoded) would be');
  });

  it('the open pixel through nginx is the GIF, with an open event', async () => {
    const pixel = new URL(signPixel(keys, { host: TRACKING_HOST }, { server: SERVER, messageToken: MESSAGE }));
    const answer = await send({ port, path: pixel.pathname, headers: { 'User-Agent': BROWSER } });
    expect(answer.status).toBe(200);
    expect(answer.body.equals(TRANSPARENT_GIF)).toBe(true);
    expect(events).toEqual([expect.objectContaining({ type: 'open', messageToken: MESSAGE, ip: CLIENT_ADDRESS })]);
  });

  it('an unsigned path through nginx is 404, and the tracker does not expose /healthz or /metrics on a tracking host', async () => {
    for (const requestPath of ['/c/not/a/signed/link', '/healthz', '/metrics']) {
      expect((await send({ port, path: requestPath })).status).toBe(404);
    }
    expect(events).toHaveLength(0);
  });

  it('straight to the tracker, without nginx and so without the header, GET / is 404 and /healthz answers', async () => {
    expect((await send({ port: trackerPort, path: '/' })).status).toBe(404);
    const health = await send({ port: trackerPort, path: '/healthz' });
    expect(health.status).toBe(200);
  });
});

describe('tracking-host-tls.conf', () => {
  let upstream: Awaited<ReturnType<typeof standIn>>;
  let nginx: ChildProcess | undefined;
  let httpPort: number;
  let httpsPort: number;

  beforeAll(async () => {
    requireNginx();
    upstream = await standIn();
    const dir = temporaryDir('tls');
    const cert = path.join(dir, 'fullchain.pem');
    const key = path.join(dir, 'privkey.pem');
    const openssl = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${TRACKING_HOST}`, '-days', '1', '-keyout', key, '-out', cert], { encoding: 'utf8' });
    if (openssl.error || openssl.status !== 0) throw new Error(`openssl could not make a test certificate: ${openssl.error?.message ?? openssl.stderr}`);
    httpPort = await freePort();
    httpsPort = await freePort();
    adaptedCopy(CONF.upstream, path.join(dir, 'upstream.conf'), [upstreamServer(UPSTREAM_CONF_SERVER, upstream.port)]);
    adaptedCopy(CONF.tls, path.join(dir, 'tracking-host-tls.conf'), [
      listenPort(80, httpPort),
      listenPort(443, httpsPort),
      certificate('ssl_certificate', cert),
      certificate('ssl_certificate_key', key),
    ]);
    const setup = nginxSetup(dir, [path.join(dir, 'upstream.conf'), path.join(dir, 'tracking-host-tls.conf')], [httpPort, httpsPort]);
    expect(nginxTest(setup)).toContain('test is successful');
    nginx = await startNginx(setup);
  });

  afterAll(async () => {
    await stopNginx(nginx);
    if (upstream) await closeServer(upstream.server);
  });

  beforeEach(() => {
    upstream.seen.length = 0;
  });

  it('passes HTTPS requests to the upstream with the header, the client address and the URL unchanged', async () => {
    const requestPath = '/o/key/srv/msg/mac?x=1&y=%2F';
    const answer = await send({ port: httpsPort, path: requestPath, tls: true, headers: { 'X-Forwarded-For': '6.6.6.6' } });
    expect(answer.status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    const [seen] = upstream.seen;
    expect(seen.url).toBe(requestPath);
    expect(seen.headers['x-postal-track-host']).toBe('1');
    expect(seen.headers.host).toBe(TRACKING_HOST);
    expect(seen.headers['x-forwarded-for']).toBe(CLIENT_ADDRESS);
    expect(seen.headers['x-forwarded-proto']).toBe('https');
  });

  it('passes the longest tracking URL on both ports (no 414): to the upstream over HTTPS, redirected over HTTP', async () => {
    const requestPath = `/c/${'a'.repeat(MAX_TRACKING_URL_LENGTH - `https://${TRACKING_HOST}/c/`.length)}`;
    expect(`https://${TRACKING_HOST}${requestPath}`).toHaveLength(MAX_TRACKING_URL_LENGTH);
    const answer = await send({ port: httpsPort, path: requestPath, tls: true });
    expect(answer.status).toBe(200);
    expect(upstream.seen.map((seen) => seen.url)).toEqual([requestPath]);
    const redirect = await send({ port: httpPort, path: requestPath });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`https://${TRACKING_HOST}${requestPath}`);
  });

  it('redirects plain HTTP to https with the path and query string', async () => {
    const answer = await send({ port: httpPort, path: '/c/a/b?utm=1' });
    expect(answer.status).toBe(301);
    expect(answer.headers.location).toBe(`https://${TRACKING_HOST}/c/a/b?utm=1`);
    expect(upstream.seen).toHaveLength(0);
  });

  it('does not redirect ACME challenges (served from the webroot; absent here, so 404)', async () => {
    const answer = await send({ port: httpPort, path: '/.well-known/acme-challenge/some-token' });
    expect(answer.status).toBe(404);
    expect(upstream.seen).toHaveLength(0);
  });
});
