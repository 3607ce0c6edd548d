// Wires a validated config into running sources (and, when configured, the REST service).
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../config/schema.js';
import type { Logger } from '../core/source-adapter.js';
import { SourceRoutes, routedSources } from '../delivery/resource-events.js';
import { ResourceRouter } from '../delivery/router.js';
import { NatsBus } from '../nats/bus.js';
import { Fleet } from '../nats/fleet.js';
import { OutboxRouter } from './outbox-router.js';
import { connectNats } from '../nats/connection.js';
import { provision } from '../nats/provision.js';
import { startWebhooks, type WebhookRuntime } from '../delivery/webhooks/index.js';
import { createSourceAdapter } from './adapters.js';
import { SourceCoordinator } from './coordinator.js';
import type { SinkRunner } from '../sink/sink-runner.js';

export interface Runtime {
  readonly nc: NatsConnection;
  readonly coordinators: readonly SourceCoordinator[];
  /** The webhook endpoints (`webhooks:`); they run until stop(). */
  readonly webhooks: WebhookRuntime;
  /** One resource event router per source that some resource maps (README "Resource events"). */
  readonly routers: readonly ResourceRouter[];
  /** The sinks (`sinks:`), each under its own lease. */
  readonly sinks: readonly SinkRunner[];
  /** This process's membership of the fleet sharing the config (null without sources). */
  readonly fleet: Fleet | null;
  /** Settles when every source and sink has stopped; rejects with the first failure. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function startRuntime(
  cfg: SluiceConfig,
  log: Logger & { child?: (b: object) => Logger },
): Promise<Runtime> {
  const nc = await connectNats(cfg.nats, log);
  const { jsm, kv } = await provision(nc, cfg.nats, log);
  // Every `sluice run` with sources is a member of the fleet of processes sharing this config.
  const fleet =
    cfg.sources.length > 0
      ? new Fleet(kv, { sources: cfg.sources.map((s) => s.name), ttlMs: cfg.nats.leaseTtl, log })
      : null;
  await fleet?.start();
  const coordinators: SourceCoordinator[] = [];
  for (const s of cfg.sources) {
    const slog = log.child ? log.child({ source: s.name }) : log;
    const adapter = await createSourceAdapter(s, slog);
    coordinators.push(
      new SourceCoordinator({
        adapter,
        bus: new NatsBus({
          nc,
          jsm,
          kv,
          stream: cfg.nats.stream,
          prefix: cfg.nats.subjectPrefix,
          publishWindow: cfg.nats.publish.window,
          publishTimeoutMs: cfg.nats.publish.timeout,
          leaseTtlMs: cfg.nats.leaseTtl,
          ...(fleet ? { instance: fleet.instance } : {}),
          replicas: cfg.nats.streamConfig.replicas,
          storage: cfg.nats.streamConfig.storage,
        }),
        prefix: cfg.nats.subjectPrefix,
        commitIntervalMs: cfg.nats.commitInterval,
        log: slog,
        ...(fleet ? { fleet } : {}),
        outbox:
          s.outbox.length > 0 ? new OutboxRouter(s.outbox, s.name, cfg.nats.subjectPrefix, slog) : undefined,
      }),
    );
  }
  const webhooks = await startWebhooks(nc, jsm, kv, cfg, log);
  const routers: ResourceRouter[] = [];
  const resources = cfg.api?.resources ?? {};
  for (const source of routedSources(resources)) {
    if (!cfg.sources.some((s) => s.name === source)) continue;
    routers.push(
      new ResourceRouter({
        nc,
        jsm,
        kv,
        stream: cfg.nats.stream,
        prefix: cfg.nats.subjectPrefix,
        routes: new SourceRoutes(source, resources, cfg.nats.subjectPrefix),
        publishWindow: cfg.nats.publish.window,
        publishTimeoutMs: cfg.nats.publish.timeout,
        leaseTtlMs: cfg.nats.leaseTtl,
        log: log.child ? log.child({ source, router: true }) : log,
      }),
    );
  }
  const sinks: SinkRunner[] = [];
  if (cfg.sinks.length > 0) {
    // Loaded only when configured: a source-only run never loads the sink code.
    const { SinkRunner } = await import('../sink/sink-runner.js');
    for (const s of cfg.sinks)
      sinks.push(
        new SinkRunner({
          cfg: s,
          nc,
          jsm,
          kv,
          stream: cfg.nats.stream,
          prefix: cfg.nats.subjectPrefix,
          leaseTtlMs: cfg.nats.leaseTtl,
          resources: cfg.api?.resources ?? {},
          log: log.child ? log.child({ sink: s.name }) : log,
        }),
      );
  }
  const runs = [
    ...coordinators.map((c) => c.run()),
    ...routers.map((r) => r.run()),
    ...sinks.map((s) => s.run()),
  ];
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const c of coordinators) c.stop();
    for (const r of routers) r.stop();
    for (const s of sinks) s.stop();
    await Promise.allSettled([...runs, webhooks.stop()]);
    await fleet?.stop();
    await nc.drain().catch(() => {});
  };
  const done = (async () => {
    try {
      await Promise.all(runs);
    } catch (err) {
      await stop();
      throw err;
    }
  })();
  return { nc, coordinators, routers, webhooks, sinks, done, stop, fleet };
}
