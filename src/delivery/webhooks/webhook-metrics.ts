// Per-endpoint webhook metrics in the process registry (served at /metrics). The gauges are read
// from the running endpoints when Prometheus scrapes.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../util/metrics.js';
import type { StatusClass } from './webhook-attempt.js';

/** What a running endpoint reports at scrape time. */
export interface EndpointGauges {
  readonly name: string;
  /** Keys with a delivery under way (being sent or waiting to retry). */
  inFlightKeys(): number;
  /** Seconds since the commit time of the oldest event received and not yet delivered; 0 if none. */
  oldestUndeliveredSeconds(): number;
  paused(): boolean;
}

const endpoints = new Set<EndpointGauges>();

function gauge(name: string, help: string, read: (e: EndpointGauges) => number): Gauge<'webhook'> {
  return new Gauge({
    name,
    help,
    labelNames: ['webhook'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const e of endpoints) this.set({ webhook: e.name }, read(e));
    },
  });
}

export const webhookMetrics = {
  attempts: new Counter({
    name: 'sluice_webhook_attempts_total',
    help: 'Webhook delivery attempts by endpoint and outcome class (2xx, 3xx, 4xx, 5xx, timeout, network)',
    labelNames: ['webhook', 'class'] as const,
    registers: [registry],
  }),
  delivered: new Counter({
    name: 'sluice_webhook_delivered_total',
    help: 'Events an endpoint accepted (2xx)',
    labelNames: ['webhook'] as const,
    registers: [registry],
  }),
  failures: new Counter({
    name: 'sluice_webhook_dead_lettered_total',
    help: 'Events given up after retry.maxAge and published to the dead-letter subject',
    labelNames: ['webhook'] as const,
    registers: [registry],
  }),
  latency: new Histogram({
    name: 'sluice_webhook_attempt_duration_seconds',
    help: 'Duration of one webhook attempt',
    labelNames: ['webhook'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  inFlightKeys: gauge('sluice_webhook_in_flight_keys', 'Keys with a delivery under way', (e) =>
    e.inFlightKeys(),
  ),
  oldest: gauge(
    'sluice_webhook_oldest_undelivered_seconds',
    'Age (from commit time) of the oldest event received and not yet delivered',
    (e) => e.oldestUndeliveredSeconds(),
  ),
  paused: gauge('sluice_webhook_paused', '1 while the endpoint is paused (it answered 410 Gone)', (e) =>
    e.paused() ? 1 : 0,
  ),
};

export function countAttempt(webhook: string, cls: StatusClass, latencyMs: number): void {
  webhookMetrics.attempts.inc({ webhook, class: cls });
  webhookMetrics.latency.observe({ webhook }, latencyMs / 1000);
  if (cls === '2xx') webhookMetrics.delivered.inc({ webhook });
}

/** Makes an endpoint's gauges visible until the returned function is called. */
export function watchEndpoint(e: EndpointGauges): () => void {
  endpoints.add(e);
  return () => endpoints.delete(e);
}
