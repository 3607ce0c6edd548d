// HTTP request counts and durations (prom-client), registered once per registry: apps in one
// process share the series.
import { Counter, Histogram, type Registry, type RegistryContentType } from 'prom-client';

const requestsName = 'sluice_http_requests_total';
const durationName = 'sluice_http_request_duration_seconds';

export interface HttpMetrics {
  /** One finished request: its method, matched route pattern, status and duration. */
  record(method: string, route: string, status: number, seconds: number): void;
}

/** The HTTP metrics of `registry`, registering them on first use. */
export function httpMetricsOf<T extends RegistryContentType>(registry: Registry<T>): HttpMetrics {
  const registers = [registry as unknown as Registry];
  const requests =
    (registry.getSingleMetric(requestsName) as Counter<'method' | 'route' | 'status'> | undefined) ??
    new Counter({
      name: requestsName,
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    });
  const duration =
    (registry.getSingleMetric(durationName) as Histogram<'method' | 'route'> | undefined) ??
    new Histogram({
      name: durationName,
      help: 'HTTP request duration by method and route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  return {
    record(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      duration.observe({ method, route }, seconds);
    },
  };
}
