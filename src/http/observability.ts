// /healthz (the process answers), /readyz (every API database answers), /metrics (Prometheus).
import type { Hono, MiddlewareHandler } from 'hono';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ApiDatabase } from '../api/database.js';
import type { AppEnv } from './env.js';

export function httpMetrics(registry: Registry): MiddlewareHandler<AppEnv> {
  // The process registry is shared: a second app in one process reuses the metrics.
  const requests =
    (registry.getSingleMetric('sluice_http_requests_total') as
      Counter<'method' | 'route' | 'status'> | undefined) ??
    new Counter({
      name: 'sluice_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    });
  const duration =
    (registry.getSingleMetric('sluice_http_request_duration_seconds') as
      Histogram<'method' | 'route'> | undefined) ??
    new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'HTTP request duration by method and route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    });
  return async (c, next) => {
    const start = process.hrtime.bigint();
    await next();
    // routePath is the matched pattern (bounded label values), never the raw URL.
    const route = c.req.routePath || 'unmatched';
    requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    duration.observe({ method: c.req.method, route }, Number(process.hrtime.bigint() - start) / 1e9);
  };
}

export function observabilityRoutes(
  app: Hono<AppEnv>,
  databases: readonly ApiDatabase[],
  registry: Registry,
): void {
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const checks = await Promise.all(
      databases.map(async (d) => {
        try {
          await d.ping();
          return { database: d.dialect.name, ok: true };
        } catch (err) {
          return { database: d.dialect.name, ok: false, error: (err as Error).message };
        }
      }),
    );
    const ok = checks.every((x) => x.ok);
    return c.json({ status: ok ? 'ready' : 'unavailable', checks }, ok ? 200 : 503);
  });
  app.get('/metrics', async (c) =>
    c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );
}
