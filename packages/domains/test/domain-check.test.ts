import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { checkTrackingDomain } from '@mailbeacon/domains';
import { trackingHostStandIn, type TrackingHostStandIn } from '@mailbeacon/testing';

/*
 * Real sockets on 127.0.0.1: a stand-in tracker that says `Hello.` only to requests carrying
 * `X-Postal-Track-Host: 1`, a tiny proxy in front that adds the header (as the operator's
 * nginx must), and servers that get it wrong in each of the usual ways. DNS is not available
 * here, so the tracking host is reached with `address`, as an operator checks a proxy that is
 * not in DNS yet.
 */

const HOST = 'click.test.example';
const servers: http.Server[] = [];

async function listen<S extends http.Server>(server: S): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

let standIn: TrackingHostStandIn;
let trackerPort: number;
let proxyPort: number;
let trackerSawHosts: string[];

beforeAll(async () => {
  standIn = await trackingHostStandIn();
  ({ trackerPort, proxyPort, trackerSawHosts } = standIn);
});

afterAll(async () => {
  await standIn?.close();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('passes through a proxy that adds X-Postal-Track-Host: 1', async () => {
  const result = await checkTrackingDomain(HOST, false, { address: '127.0.0.1', port: proxyPort });
  expect(result).toMatchObject({ host: HOST, ok: true, verdict: `${HOST} is ready for tracking`, advice: [] });
  const http = result.steps.find((step) => step.name === 'http')!;
  expect(http).toEqual({ name: 'http', ok: true, detail: `GET http://${HOST}:${proxyPort}/ (via 127.0.0.1) → 200 "Hello."` });
  expect(trackerSawHosts).toContain(HOST);
  // DNS does not know the test host: reported, but the given address is what counts.
  const dns = result.steps.find((step) => step.name === 'dns')!;
  expect(dns.ok).toBe(false);
  expect(dns.detail).toContain('the address 127.0.0.1 was given');
});

test('fails aimed straight at the tracker, without the header, and says which header to add', async () => {
  const result = await checkTrackingDomain(HOST, false, { address: '127.0.0.1', port: trackerPort });
  expect(result.ok).toBe(false);
  expect(result.verdict).toBe(`${HOST} is NOT ready: GET / answered 404 "Not Found" instead of 200 "Hello."`);
  expect(result.advice).toHaveLength(1);
  expect(result.advice[0]).toContain('X-Postal-Track-Host: 1');
  expect(result.advice[0]).toContain('`proxy_set_header X-Postal-Track-Host 1;`');
  expect(result.advice[0]).toContain('received 404 "Not Found"');
});

test('another body (a default page) is not the tracker; the quote is truncated', async () => {
  const page = `<html><head><title>Welcome to nginx!</title></head><body>${'x'.repeat(500)}</body></html>`;
  const port = await listen(http.createServer((_req, res) => res.end(page)));
  const result = await checkTrackingDomain(HOST, false, { address: '127.0.0.1', port });
  expect(result.ok).toBe(false);
  expect(result.advice[0]).toContain('proxy_set_header X-Postal-Track-Host 1;');
  expect(result.advice[0]).toContain('received 200 "<html><head><title>Welcome to nginx!');
  expect(result.advice[0]).toContain('…"');
  expect(result.advice[0].length).toBeLessThan(400);
});

test('a redirect is not followed; the check says where it points', async () => {
  const port = await listen(http.createServer((_req, res) => res.writeHead(301, { location: 'https://www.example.com/' }).end()));
  const result = await checkTrackingDomain(HOST, false, { address: '127.0.0.1', port });
  expect(result.ok).toBe(false);
  expect(result.verdict).toBe(`${HOST} is NOT ready: GET / redirects to https://www.example.com/`);
  expect(result.steps.find((step) => step.name === 'http')!.detail).toContain('301 redirect to https://www.example.com/');
  expect(result.advice[0]).toContain('https://www.example.com/');
});

test('connection refused: nothing answers on the port', async () => {
  const closed = http.createServer();
  const port = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
  const result = await checkTrackingDomain(HOST, true, { address: '127.0.0.1', port });
  expect(result.ok).toBe(false);
  expect(result.verdict).toBe(`${HOST} is NOT ready: nothing answers on 127.0.0.1:${port} (ECONNREFUSED)`);
  expect(result.advice).toEqual([`nothing answers on 127.0.0.1:${port} — is the proxy running and the port open?`]);
});

test('a server that accepts and never answers times out after timeoutMs', async () => {
  const port = await listen(http.createServer(() => {}));
  const started = Date.now();
  const result = await checkTrackingDomain(HOST, false, { address: '127.0.0.1', port, timeoutMs: 300 });
  expect(Date.now() - started).toBeLessThan(3000);
  expect(result.ok).toBe(false);
  expect(result.verdict).toContain('no answer within 300 ms');
  expect(result.advice).toEqual([`nothing answers on 127.0.0.1:${port} — is the proxy running and the port open?`]);
});

test('https to a plain-http port is a TLS failure', async () => {
  const result = await checkTrackingDomain(HOST, true, { address: '127.0.0.1', port: proxyPort });
  expect(result.ok).toBe(false);
  expect(result.steps.find((step) => step.name === 'http')!.detail).toMatch(/TLS error/);
  expect(result.advice[0]).toContain('does not speak TLS');
});

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

(hasOpenssl ? test : test.skip)('a self-signed certificate is reported as not valid; SNI names the tracking host', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'mailbeacon-cert-'));
  try {
    const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`], { stdio: 'ignore' });
    const sawServernames: string[] = [];
    const context = createSecureContext({ key: readFileSync(key), cert: readFileSync(cert) });
    const server = https.createServer({ SNICallback: (servername, done) => (sawServernames.push(servername), done(null, context)) }, (_req, res) => res.end('Hello.'));
    const port = await listen(server);
    const result = await checkTrackingDomain(HOST, true, { address: '127.0.0.1', port });
    expect(result.ok).toBe(false);
    expect(result.advice[0]).toMatch(new RegExp(`^the certificate for ${HOST.replace(/\./g, '\\.')} is not valid: self[- ]signed certificate`));
    expect(sawServernames).toEqual([HOST]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a host DNS does not know fails quickly with the CNAME advice', async () => {
  const started = Date.now();
  const result = await checkTrackingDomain('click.nowhere.invalid', true, { timeoutMs: 2000 });
  expect(Date.now() - started).toBeLessThan(5000);
  expect(result.ok).toBe(false);
  expect(result.steps.map((step) => step.name)).toEqual(['dns']);
  expect(result.verdict).toMatch(/^click\.nowhere\.invalid is NOT ready: (cannot resolve|no CNAME)/);
  expect(result.advice).toEqual(["create a CNAME record for click.nowhere.invalid pointing at your mailbeacon tracker's host (or A/AAAA records)"]);
});
