import { Histogram, Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { httpMetricsOf } from '../../../src/http/http-metrics.js';

describe('HTTP metrics', () => {
  it('exposes counts and durations in the Prometheus text format, like prom-client would', async () => {
    const registry = new Registry<RegistryContentType>();
    const m = httpMetricsOf(registry);
    m.record('GET', '/api/x', 200, 0.002);
    m.record('GET', '/api/x', 200, 0.3);
    m.record('GET', '/api/x', 404, 5);
    expect(httpMetricsOf(registry)).not.toBe(m); // a second app shares the same series
    httpMetricsOf(registry).record('POST', '/api/x', 201, 0.0005);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE sluice_http_requests_total counter');
    expect(text).toContain('sluice_http_requests_total{method="GET",route="/api/x",status="200"} 2');
    expect(text).toContain('sluice_http_requests_total{method="GET",route="/api/x",status="404"} 1');
    expect(text).toContain('sluice_http_requests_total{method="POST",route="/api/x",status="201"} 1');

    // The same observations through prom-client's Histogram give the same lines.
    const reference = new Registry();
    const h = new Histogram({
      name: 'sluice_http_request_duration_seconds',
      help: 'HTTP request duration by method and route',
      labelNames: ['method', 'route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [reference],
    });
    for (const v of [0.002, 0.3, 5]) h.observe({ method: 'GET', route: '/api/x' }, v);
    h.observe({ method: 'POST', route: '/api/x' }, 0.0005);
    const normalize = (t: string) =>
      t
        .split('\n')
        .filter((l) => l.startsWith('sluice_http_request_duration'))
        .map((l) => l.replace(/\{([^}]*)\}/, (_, ls: string) => `{${ls.split(',').sort().join(',')}}`))
        .sort();
    expect(normalize(text)).toEqual(normalize(await reference.metrics()));
    expect(normalize(text).length).toBe(2 * 14);

    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('status="200"');
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    m.record('GET', '/api/x', 200, 0.01);
    expect(await registry.metrics()).toContain(
      'sluice_http_requests_total{method="GET",route="/api/x",status="200"} 1',
    );
  });
});
