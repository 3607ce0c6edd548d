// Runs one source: lease → load the committed offset → snapshot if needed → stream, retrying
// retriable errors with backoff from the committed offset. See source-state.ts for the lifecycle.
import type { JetStreamManager } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { errorMessage, isRetriable } from '../core/errors.js';
import type { OffsetStore } from '../core/offset-store.js';
import type { Publisher } from '../core/publisher.js';
import type { AnySourceAdapter, Logger, SourceContext } from '../core/source-adapter.js';
import { SourceLease } from '../nats/lease.js';
import { KvOffsetStore } from '../nats/offset-store.js';
import { JetStreamPublisher } from '../nats/publisher.js';
import { kvKey, parseMsgId, sourceWildcard } from '../nats/subjects.js';
import { metrics } from '../util/metrics.js';
import { sleep } from '../util/sleep.js';
import { Dispatcher } from './dispatcher.js';
import { SOURCE_STATES, transition, type SourceEvent, type SourceState } from './source-state.js';

export interface CoordinatorDeps {
  readonly adapter: AnySourceAdapter;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly kv: KV;
  readonly stream: string;
  readonly prefix: string;
  readonly publishWindow: number;
  readonly publishTimeoutMs: number;
  readonly commitIntervalMs: number;
  readonly leaseTtlMs: number;
  readonly log: Logger;
}

export class SourceCoordinator {
  readonly #d: CoordinatorDeps;
  #state: SourceState = 'idle';
  readonly #abort = new AbortController();
  #detail = '';

  constructor(deps: CoordinatorDeps) {
    this.#d = deps;
    this.#setGauge();
  }

  get state(): SourceState {
    return this.#state;
  }

  stop(): void {
    this.#abort.abort();
  }

  /** Resolves when stopped; rejects with the error that failed the source. */
  async run(): Promise<void> {
    const d = this.#d;
    const name = d.adapter.name;
    const log = d.log;
    const signal = this.#abort.signal;
    const store: OffsetStore = new KvOffsetStore(d.kv);
    const lease = new SourceLease(d.kv, name, d.leaseTtlMs);
    const inner = new AbortController();
    const stopInner = () => inner.abort();
    signal.addEventListener('abort', stopInner, { once: true });
    const leaseState: { lost: Error | null } = { lost: null };

    this.#fire('start');
    try {
      const got = await lease.acquire(signal, log, (err) => {
        leaseState.lost = err;
        log.error({ err: err.message }, 'lost the lease on this source; stopping it');
        inner.abort();
      });
      if (!got) return;
      this.#fire('leaseAcquired');
      const commitToAck = metrics.commitLatency.labels({ source: name });
      let attempt = 0;
      while (!inner.signal.aborted) {
        const publisher: Publisher = new JetStreamPublisher(d.nc, {
          window: d.publishWindow,
          timeoutMs: d.publishTimeoutMs,
          log,
          onRetry: () => metrics.publishRetries.inc({ source: name }),
          onStored: (req) => {
            if (req.committedAtMs !== undefined) commitToAck.observe((Date.now() - req.committedAtMs) / 1000);
          },
          onReorder: (subject) => {
            metrics.publishReordered.inc({ source: name });
            log.error({ subject }, 'a retried event was stored after a later one');
          },
        });
        const ctxAbort = new AbortController();
        // Stopping must not wait for a publish that cannot complete (NATS down, stream full):
        // closing the publisher releases the dispatcher; unacknowledged events replay on restart.
        const relay = () => {
          ctxAbort.abort();
          void publisher.close();
        };
        inner.signal.addEventListener('abort', relay, { once: true });
        try {
          const stored = await store.load(name);
          let offset: unknown = stored ? d.adapter.offsets.parse(stored.offset) : null;
          const ctx: SourceContext = { signal: ctxAbort.signal, log, lastPublished: await this.#tail() };
          const dispatcher = new Dispatcher({
            adapter: d.adapter,
            publisher,
            store,
            prefix: d.prefix,
            commitIntervalMs: d.commitIntervalMs,
            log,
          });
          if (d.adapter.needsSnapshot(offset)) {
            this.#fire('snapshotNeeded');
            offset = await dispatcher.run(d.adapter.snapshot(ctx, offset));
            if (ctxAbort.signal.aborted) break;
            this.#fire('snapshotDone');
          } else {
            this.#fire('streamFrom');
          }
          log.info(
            { from: offset === null ? 'slot start' : d.adapter.offsets.describe(offset) },
            'streaming',
          );
          attempt = 0;
          await dispatcher.run(d.adapter.stream(ctx, offset));
          if (!inner.signal.aborted) throw new Error('the change stream ended unexpectedly');
        } catch (err) {
          if (inner.signal.aborted) break;
          if (!isRetriable(err)) throw err;
          attempt++;
          metrics.sourceRestarts.inc({ source: name });
          const wait = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
          this.#detail = errorMessage(err);
          log.warn(
            { err: errorMessage(err), attempt, retryInMs: wait },
            'source failed; retrying from the committed offset',
          );
          this.#fire('retriableError');
          await sleep(wait, inner.signal);
          this.#fire('backoffElapsed');
        } finally {
          inner.signal.removeEventListener('abort', relay);
          ctxAbort.abort();
          await d.adapter.close().catch(() => {});
          await publisher.close();
        }
      }
      if (leaseState.lost) throw leaseState.lost;
      this.#fire('stop');
    } catch (err) {
      this.#detail = errorMessage(err);
      if (this.#state !== 'stopped' && this.#state !== 'failed') this.#fire('fatalError');
      throw err;
    } finally {
      signal.removeEventListener('abort', stopInner);
      await lease.drop();
      await d.adapter.close().catch(() => {});
    }
  }

  /** The last event of this source in the stream, for exact snapshot resume (null if unreadable). */
  async #tail(): Promise<SourceContext['lastPublished']> {
    const d = this.#d;
    try {
      const m = await d.jsm.streams.getMessage(d.stream, {
        last_by_subj: sourceWildcard(d.prefix, d.adapter.name),
      });
      if (!m) return null;
      const id = m.header?.get('Nats-Msg-Id');
      const parsed = id ? parseMsgId(id) : null;
      if (!parsed || parsed.source !== d.adapter.name) return null;
      return {
        position: parsed.position,
        index: parsed.index,
        key: JSON.parse(m.header.get('Sluice-Key') || 'null'),
        event: m.json(),
      };
    } catch {
      return null;
    }
  }

  #fire(event: SourceEvent): void {
    const next = transition(this.#state, event);
    if (next !== this.#state) {
      this.#state = next;
      this.#setGauge();
      void this.#publishStatus();
    }
  }

  #setGauge(): void {
    for (const s of SOURCE_STATES)
      metrics.sourceState.set({ source: this.#d.adapter.name, state: s }, s === this.#state ? 1 : 0);
  }

  async #publishStatus(): Promise<void> {
    const body = JSON.stringify({
      state: this.#state,
      detail: this.#detail,
      pid: process.pid,
      at: new Date().toISOString(),
    });
    await this.#d.kv.put(kvKey('status', this.#d.adapter.name), body).catch(() => {});
  }
}
