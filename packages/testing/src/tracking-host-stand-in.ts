import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What `domains check` looks at, on real sockets: a stand-in tracker that says `Hello.` only
 * to requests carrying `X-Postal-Track-Host: 1`, and a tiny proxy in front of it that adds the
 * header, as the operator's nginx must.
 */
export interface TrackingHostStandIn {
  trackerPort: number;
  proxyPort: number;
  /** The Host headers the tracker saw. */
  trackerSawHosts: string[];
  close(): Promise<void>;
}

export async function listenOnLoopback(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export async function closeServer(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

export async function trackingHostStandIn(): Promise<TrackingHostStandIn> {
  const trackerSawHosts: string[] = [];
  const tracker = http.createServer((req, res) => {
    trackerSawHosts.push(req.headers.host ?? '');
    if (req.headers['x-postal-track-host'] === '1') res.end('Hello.\n');
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
  });
  const trackerPort = await listenOnLoopback(tracker);
  const proxy = http.createServer((req, res) => {
    const upstream = http.request(
      { host: '127.0.0.1', port: trackerPort, path: req.url, method: req.method, headers: { ...req.headers, 'x-postal-track-host': '1' } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  const proxyPort = await listenOnLoopback(proxy);
  return { trackerPort, proxyPort, trackerSawHosts, close: async () => void (await Promise.all([closeServer(tracker), closeServer(proxy)])) };
}
