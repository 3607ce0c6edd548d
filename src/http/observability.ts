// /healthz (the process answers), /readyz (every API database answers), /metrics (Prometheus).
import type { Hono, MiddlewareHandler } from 'hono';
import type { Registry } from 'prom-client';
import type { ApiDatabase } from '../sql/database.js';
import type { AppEnv } from './env.js';
import { httpMetricsOf } from './http-metrics.js';

export function httpMetrics(registry: Registry): MiddlewareHandler<AppEnv> {
  const metrics = httpMetricsOf(registry);
  return async (c, next) => {
    const start = performance.now();
    await next();
    // routePath is the matched pattern (bounded label values), never the raw URL.
    metrics.record(
      c.req.method,
      c.req.routePath || 'unmatched',
      c.res.status,
      (performance.now() - start) / 1000,
    );
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
