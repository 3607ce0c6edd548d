// Prometheus metrics of the change feed, in the process registry (/metrics).
import { Counter, Gauge } from 'prom-client';
import { registry } from '../../util/metrics.js';

export const feedMetrics = {
  subscribers: new Gauge({
    name: 'sluice_feed_subscribers',
    help: 'Open change-feed subscriptions (SSE streams and pending long-polls)',
    labelNames: ['resource'],
    registers: [registry],
  }),
  closed: new Counter({
    name: 'sluice_feed_subscriptions_closed_total',
    help: 'Change-feed subscriptions ended, by reason (overflow: the client read too slowly)',
    labelNames: ['resource', 'reason'],
    registers: [registry],
  }),
  events: new Counter({
    name: 'sluice_feed_events_total',
    help: "Resource events read by a resource's shared consumer (once, whatever the subscriber count)",
    labelNames: ['resource'],
    registers: [registry],
  }),
};
