import type { Server, ServerResponse } from 'node:http';

/**
 * Returns a function that closes `server` as a deploy needs: no new connections, requests in
 * flight answered, then done. Keep-alive connections would otherwise hold close() open until
 * they time out, so once closing, every answer tells its client `Connection: close` and idle
 * connections are dropped. After `graceMs` the stragglers are cut off: a stuck client must
 * not block a deploy forever.
 */
export function gracefulCloser(server: Server, graceMs: number): () => Promise<void> {
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
