// The resource event router of one source: a durable JetStream consumer on the source's raw events
// (`<prefix>.<source>.>`), routed through the resources that map its tables onto
// `<prefix>.resources.<resource>.<type>` (README "Resource events").
//
// Exactly once into the stream: a raw event is acknowledged only after every resource event made
// from it is stored; a crash redelivers from the ack floor, and the resource events published
// again carry the same Nats-Msg-Id, which the stream's duplicate window absorbs. Order: one
// holder at a time (a KV lease, like a source's, under its own key), and strict stream order
// within it (router-session.ts).
import {
  AckPolicy,
  DeliverPolicy,
  ReplayPolicy,
  jetstream,
  type ConsumerConfig,
  type ConsumerInfo,
  type JetStreamManager,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, LeaseLostError } from '../core/errors.js';
import type { Lease } from '../core/lease.js';
import type { Logger } from '../core/source-adapter.js';
import { isConsumerNotFound } from '../nats/jetstream-errors.js';
import { SourceLease } from '../nats/lease.js';
import { JetStreamPublisher } from '../nats/publisher.js';
import { sourceWildcard } from '../nats/subjects.js';
import { metrics } from '../util/metrics.js';
import { sleep } from '../util/sleep.js';
import { parseResourceSubject } from './resource-event.js';
import type { SourceRoutes } from './resource-events.js';
import { RouterSession, type SessionEnd } from './router-session.js';

export interface RouterOptions {
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly kv: KV;
  readonly stream: string;
  readonly prefix: string;
  readonly routes: SourceRoutes;
  readonly publishWindow: number;
  readonly publishTimeoutMs: number;
  /** The router lease's time to live; also the consumer's ack_wait (see routerConsumerConfig). */
  readonly leaseTtlMs: number;
  readonly log: Logger;
  /** Raw events unacknowledged at once (the consumer's max_ack_pending); default 4096. */
  readonly maxAckPending?: number;
}

export type RouterState = 'idle' | 'standby' | 'routing' | 'retrying' | 'stopped';

const NANOS = 1_000_000;

/** `<prefix>_router_<source>`: both are config tokens (letters, digits, `_`, `-`). */
export function routerConsumerName(prefix: string, source: string): string {
  return `${prefix}_router_${source}`;
}

/**
 * The durable consumer: one filter subject (nats-server 2.9 takes no list), every raw event the
 * stream holds (the first start routes the history too), explicit acks. ack_wait is the lease's
 * TTL: a holder that crashed leaves its unacknowledged events to be redelivered at about the time
 * a standby may take the lease, so a takeover waits for one, not for both one after the other.
 */
export function routerConsumerConfig(
  prefix: string,
  source: string,
  ackWaitMs: number,
  maxAckPending: number,
): Partial<ConsumerConfig> & { durable_name: string } {
  return {
    durable_name: routerConsumerName(prefix, source),
    description: `sluice: raw events of ${source} → resource events`,
    filter_subject: sourceWildcard(prefix, source),
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    ack_wait: ackWaitMs * NANOS,
    max_ack_pending: maxAckPending,
    max_deliver: -1,
  };
}

/** The raw events of the source not routed yet: not delivered to the router, or not acknowledged. */
export function routerLag(info: ConsumerInfo): number {
  return info.num_pending + info.num_ack_pending;
}

export class ResourceRouter {
  readonly source: string;
  readonly #o: RouterOptions;
  readonly #abort = new AbortController();
  readonly #lease: Lease;
  #state: RouterState = 'idle';

  constructor(opts: RouterOptions) {
    this.#o = opts;
    this.source = opts.routes.source;
    this.#lease = new SourceLease(opts.kv, this.source, opts.leaseTtlMs, 'router');
  }

  get state(): RouterState {
    return this.#state;
  }

  stop(): void {
    this.#abort.abort();
  }

  /** Runs until stopped: waits for the router lease, routes while holding it, stands by when it is lost. */
  async run(): Promise<void> {
    const signal = this.#abort.signal;
    const log = this.#o.log;
    try {
      while (!signal.aborted) {
        this.#state = 'standby';
        const held = new AbortController();
        const relay = () => held.abort();
        signal.addEventListener('abort', relay, { once: true });
        try {
          const got = await this.#lease.acquire(signal, log, (err) => {
            log.warn({ err: errorMessage(err) }, 'router: lease lost');
            held.abort();
          });
          if (!got) break;
          await this.#runHeld(held.signal);
        } finally {
          signal.removeEventListener('abort', relay);
          held.abort();
          await this.#lease.drop();
        }
      }
    } finally {
      this.#state = 'stopped';
    }
  }

  /** Sessions one after the other while the lease is held; failures are retried with backoff. */
  async #runHeld(held: AbortSignal): Promise<void> {
    const o = this.#o;
    const log = o.log;
    const maxAckPending = o.maxAckPending ?? 4096;
    let attempt = 0;
    let reason: SessionEnd | 'start' | 'error' = 'start';
    const lagTimer = setInterval(() => void this.#updateLag(), 2000);
    lagTimer.unref();
    try {
      while (!held.aborted) {
        const publisher = new JetStreamPublisher(o.nc, {
          window: o.publishWindow,
          timeoutMs: o.publishTimeoutMs,
          log,
          onStored: (req) => {
            const r = parseResourceSubject(o.prefix, req.subject);
            if (r) metrics.resourceEvents.inc({ resource: r.resource, type: r.type });
          },
        });
        // Stopping must not wait long for a publish that cannot complete (NATS down): after a
        // grace period the publisher is closed; what was not acknowledged is redelivered later.
        let grace: NodeJS.Timeout | null = null;
        const closeLater = () => {
          grace = setTimeout(() => void publisher.close(), o.publishTimeoutMs);
          grace.unref();
        };
        held.addEventListener('abort', closeLater, { once: true });
        try {
          metrics.routerSessions.inc({ source: this.source, reason });
          const info = await this.#ensureConsumer(maxAckPending);
          this.#state = 'routing';
          metrics.routerLag.set({ source: this.source }, routerLag(info));
          const session = new RouterSession({
            consumer: await jetstream(o.nc).consumers.get(o.stream, info.name),
            info,
            publisher,
            routes: o.routes,
            prefix: o.prefix,
            fence: this.#lease,
            ackWaitMs: o.leaseTtlMs,
            batch: Math.min(1024, maxAckPending),
            signal: held,
            log,
          });
          reason = await session.run();
          attempt = 0;
          // Let the acknowledgements reach the server before the next session reads the consumer.
          await o.nc.flush();
        } catch (err) {
          if (held.aborted) break;
          if (err instanceof LeaseLostError) throw err;
          attempt++;
          reason = 'error';
          this.#state = 'retrying';
          const wait = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
          log.warn(
            { err: errorMessage(err), attempt, retryInMs: wait },
            'router failed; retrying from the ack floor',
          );
          await sleep(wait, held);
        } finally {
          held.removeEventListener('abort', closeLater);
          if (grace) clearTimeout(grace);
          await publisher.close();
        }
      }
    } catch (err) {
      if (!(err instanceof LeaseLostError)) throw err;
      log.warn({ err: errorMessage(err) }, 'router: no longer the holder; standing by');
    } finally {
      clearInterval(lagTimer);
    }
  }

  async #ensureConsumer(maxAckPending: number): Promise<ConsumerInfo> {
    const o = this.#o;
    const cfg = routerConsumerConfig(o.prefix, this.source, o.leaseTtlMs, maxAckPending);
    try {
      const info = await o.jsm.consumers.info(o.stream, cfg.durable_name);
      if (info.config.ack_wait !== cfg.ack_wait || info.config.max_ack_pending !== cfg.max_ack_pending)
        await o.jsm.consumers.update(o.stream, cfg.durable_name, {
          ack_wait: cfg.ack_wait,
          max_ack_pending: cfg.max_ack_pending,
        });
      else return info;
    } catch (err) {
      if (!isConsumerNotFound(err)) throw err;
      await o.jsm.consumers.add(o.stream, cfg);
      o.log.info({ consumer: cfg.durable_name }, 'router: created its consumer');
    }
    return o.jsm.consumers.info(o.stream, cfg.durable_name);
  }

  async #updateLag(): Promise<void> {
    const o = this.#o;
    const info = await o.jsm.consumers
      .info(o.stream, routerConsumerName(o.prefix, this.source))
      .catch(() => null);
    if (info) metrics.routerLag.set({ source: this.source }, routerLag(info));
  }
}
