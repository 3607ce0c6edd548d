// /metrics (and /healthz, and with a status source the status page) for a process that runs
// sources without the REST API.
import { createServer, type Server } from 'node:http';
import type { StatusSource } from '../http/status-board.js';
import { STATUS_HTML } from '../http/status-page.js';
import { registry } from './metrics.js';

export async function startMetricsServer(
  listen: string,
  status?: StatusSource,
): Promise<{ url: string; close(): Promise<void> }> {
  const sep = listen.lastIndexOf(':');
  const host = listen.slice(0, sep);
  const port = Number(listen.slice(sep + 1));
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
        () => res.writeHead(500).end(),
      );
    } else if (status && req.url === '/status') {
      res
        .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
        .end(STATUS_HTML);
    } else if (status && req.url === '/status.json') {
      status.snapshot().then(
        (s) =>
          res
            .writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' })
            .end(JSON.stringify(s)),
        (err: unknown) =>
          res
            .writeHead(503, { 'content-type': 'application/problem+json' })
            .end(JSON.stringify({ title: 'Status unavailable', status: 503, detail: String(err) })),
      );
    } else if (req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === 'object' && addr ? addr.port : port;
  return {
    url: `http://${host}:${actual}`,
    close: async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await status?.close();
    },
  };
}
