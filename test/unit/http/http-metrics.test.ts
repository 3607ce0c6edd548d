import { Registry, type RegistryContentType } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { httpMetricsOf } from '../../../src/http/http-metrics.js';

// The exposition for known observations, written out by hand: GET 0.002 s, 0.3 s (200) and 5 s
// (404); POST 0.0005 s (201). Buckets are cumulative; 5 s lands only in +Inf; sums are exact.
const bucketLines = (method: string, counts: number[]) =>
  ['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '+Inf'].map(
    (le, i) =>
      `sluice_http_request_duration_seconds_bucket{le="${le}",method="${method}",route="/api/x"} ${counts[i]}`,
  );
const expected = [
  '# HELP sluice_http_requests_total HTTP requests by method, route and status',
  '# TYPE sluice_http_requests_total counter',
  'sluice_http_requests_total{method="GET",route="/api/x",status="200"} 2',
  'sluice_http_requests_total{method="GET",route="/api/x",status="404"} 1',
  'sluice_http_requests_total{method="POST",route="/api/x",status="201"} 1',
  '',
  '# HELP sluice_http_request_duration_seconds HTTP request duration by method and route',
  '# TYPE sluice_http_request_duration_seconds histogram',
  ...bucketLines('GET', [0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 3]),
  'sluice_http_request_duration_seconds_sum{method="GET",route="/api/x"} 5.302',
  'sluice_http_request_duration_seconds_count{method="GET",route="/api/x"} 3',
  ...bucketLines('POST', [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
  'sluice_http_request_duration_seconds_sum{method="POST",route="/api/x"} 0.0005',
  'sluice_http_request_duration_seconds_count{method="POST",route="/api/x"} 1',
  '',
].join('\n');

describe('HTTP metrics', () => {
  it('exposes counts and durations in the Prometheus text format, line for line', async () => {
    const registry = new Registry<RegistryContentType>();
    const m = httpMetricsOf(registry);
    m.record('GET', '/api/x', 200, 0.002);
    m.record('GET', '/api/x', 200, 0.3);
    m.record('GET', '/api/x', 404, 5);
    expect(httpMetricsOf(registry)).not.toBe(m); // a second app shares the same series
    httpMetricsOf(registry).record('POST', '/api/x', 201, 0.0005);
    expect(await registry.metrics()).toBe(expected);

    registry.resetMetrics();
    expect(await registry.metrics()).not.toContain('status="200"');
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    m.record('GET', '/api/x', 200, 0.01);
    expect(await registry.metrics()).toContain(
      'sluice_http_requests_total{method="GET",route="/api/x",status="200"} 1',
    );
  });
});
