// Wires a validated config into running sources (and, when configured, the REST service).
import type { NatsConnection } from '@nats-io/transport-node';
import type { SluiceConfig } from '../config/schema.js';
import type { Logger } from '../core/source-adapter.js';
import { NatsBus } from '../nats/bus.js';
import { connectNats } from '../nats/connection.js';
import { provision } from '../nats/provision.js';
import { createSourceAdapter } from './adapters.js';
import { SourceCoordinator } from './coordinator.js';
import type { SinkRunner } from '../sink/sink-runner.js';

export interface Runtime {
  readonly nc: NatsConnection;
  readonly coordinators: readonly SourceCoordinator[];
  readonly sinks: readonly SinkRunner[];
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
        }),
        prefix: cfg.nats.subjectPrefix,
        commitIntervalMs: cfg.nats.commitInterval,
        log: slog,
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
  const runs = [...coordinators.map((c) => c.run()), ...sinks.map((s) => s.run())];
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    for (const c of coordinators) c.stop();
    for (const s of sinks) s.stop();
    await Promise.allSettled(runs);
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
  return { nc, coordinators, sinks, done, stop };
}
