import { createServer, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { describeError, StartupError } from './run-service';
import type { AddressInfo } from 'node:net';

/**
 * Returns a function that closes `server` as a deploy needs: no new connections, requests in
 * flight answered, then done. Keep-alive connections would otherwise hold close() open until
 * they time out, so once closing, every answer tells its client `Connection: close` and idle
 * connections are dropped. After `graceMs` the stragglers are cut off: a stuck client must
 * not block a deploy forever.
 */
function gracefulCloser(server: Server, graceMs: number): () => Promise<void> {
  const inFlight = new Set<ServerResponse>();
  let closing: Promise<void> | undefined;

  server.on('request', (_req, res: ServerResponse) => {
    if (closing) res.setHeader('Connection', 'close');
    inFlight.add(res);
    res.on('close', () => inFlight.delete(res));
  });

  return () =>
    (closing ??= new Promise<void>((resolve, reject) => {
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
      const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
      deadline.unref();
      server.close((error) => {
        clearTimeout(deadline);
        if (error) reject(error);
        else resolve();
      });
      server.closeIdleConnections();
    }));
}

/** Listens and resolves with the server's URL (e.g. http://127.0.0.1:8080); rejects if the port is taken. */
function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address() as AddressInfo;
      resolve(`http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`);
    });
  });
}

/**
 * An HTTP server for `handler`, listening, with a graceful close; a taken port is a StartupError.
 * `serverOptions` are node's (e.g. `maxHeaderSize`).
 */
export async function serveHttp(
  handler: RequestListener,
  port: number,
  host: string,
  graceMs: number,
  serverOptions: ServerOptions = {},
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(serverOptions, handler);
  const close = gracefulCloser(server, graceMs);
  try {
    return { url: await listen(server, port, host), close };
  } catch (error) {
    throw new StartupError(`cannot listen on ${host}:${port}: ${describeError(error)}`);
  }
}
