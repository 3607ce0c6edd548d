// One Prometheus registry for the process; /metrics (REST service or metrics.listen) serves it.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'sluice_process_' });

export const metrics = {
  eventsPublished: new Counter({
    name: 'sluice_events_published_total',
    help: 'Events acknowledged by JetStream',
    labelNames: ['source'],
    registers: [registry],
  }),
  deadLettered: new Counter({
    name: 'sluice_events_dead_lettered_total',
    help: 'Events sent to the dead-letter subject',
    labelNames: ['source'],
    registers: [registry],
  }),
  snapshotRows: new Counter({
    name: 'sluice_snapshot_rows_total',
    help: 'Snapshot reads (op r) handed to the publisher: the initial snapshot and online re-snapshots',
    labelNames: ['source'],
    registers: [registry],
  }),
  publishRetries: new Counter({
    name: 'sluice_publish_retries_total',
    help: 'Times the publish window stopped to resend unacknowledged events',
    labelNames: ['source'],
    registers: [registry],
  }),
  publishReordered: new Counter({
    name: 'sluice_publish_reordered_total',
    help: 'Retried events stored after a later event (a server lost events mid-window)',
    labelNames: ['source'],
    registers: [registry],
  }),
  offsetCommits: new Counter({
    name: 'sluice_offset_commits_total',
    help: 'Offsets committed to the KV store',
    labelNames: ['source'],
    registers: [registry],
  }),
  sourceRestarts: new Counter({
    name: 'sluice_source_restarts_total',
    help: 'Retries after a retriable source or broker error',
    labelNames: ['source'],
    registers: [registry],
  }),
  sourceState: new Gauge({
    name: 'sluice_source_state',
    help: '1 for the state each source is in',
    labelNames: ['source', 'state'],
    registers: [registry],
  }),
  commitLatency: new Histogram({
    name: 'sluice_commit_to_ack_seconds',
    help: 'Source commit time to JetStream PubAck',
    labelNames: ['source'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  resourceEvents: new Counter({
    name: 'sluice_resource_events_total',
    help: 'Resource events stored by the router (not counting duplicates absorbed after a restart)',
    labelNames: ['resource', 'type'],
    registers: [registry],
  }),
  resourceDeadLettered: new Counter({
    name: 'sluice_resource_events_dead_lettered_total',
    help: 'Raw events the router could not map, sent to <prefix>.dlq.resources.<resource>',
    labelNames: ['resource'],
    registers: [registry],
  }),
  routerLag: new Gauge({
    name: 'sluice_router_lag_events',
    help: "Raw events of a source not yet routed to resource events (the router consumer's pending and unacknowledged)",
    labelNames: ['source'],
    registers: [registry],
  }),
  routerSessions: new Counter({
    name: 'sluice_router_sessions_total',
    help: 'Consumer sessions the router started (after a start, a failure, or a delivery gap)',
    labelNames: ['source', 'reason'],
    registers: [registry],
  }),
  sinkEventsApplied: new Counter({
    name: 'sluice_sink_events_applied_total',
    help: 'Events a sink accounted for in its target (written, or skipped as not mapped or an echo)',
    labelNames: ['sink'],
    registers: [registry],
  }),
  sinkDeadLettered: new Counter({
    name: 'sluice_sink_events_dead_lettered_total',
    help: "Events a sink's target refused, sent to the sink's dead-letter subject",
    labelNames: ['sink'],
    registers: [registry],
  }),
  sinkLag: new Gauge({
    name: 'sluice_sink_lag_events',
    help: "Events in the stream not yet applied by the sink (its consumer's pending count)",
    labelNames: ['sink'],
    registers: [registry],
  }),
  sinkBatchSeconds: new Histogram({
    name: 'sluice_sink_batch_seconds',
    help: 'Time to apply one batch and commit it in the target',
    labelNames: ['sink'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  }),
  sinkConflicts: new Counter({
    name: 'sluice_sink_conflicts_total',
    help: 'Rows changed on both sides of a two-way sink, by the side that won',
    labelNames: ['sink', 'winner'],
    registers: [registry],
  }),
};
