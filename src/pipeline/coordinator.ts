// Runs one source: lease → load the committed offset → snapshot if needed → stream, retrying
// retriable errors with backoff from the committed offset. See source-state.ts for the lifecycle.
import type { SourceBus } from '../core/bus.js';
import { errorMessage, isRetriable, LeaseLostError, OffsetConflictError } from '../core/errors.js';
import type { FleetShare } from '../core/fleet-share.js';
import type { Lease } from '../core/lease.js';
import type { OffsetStore } from '../core/offset-store.js';
import type { AnySourceAdapter, Logger, SourceContext } from '../core/source-adapter.js';
import { metrics } from '../util/metrics.js';
import { sleep } from '../util/sleep.js';
import { Dispatcher } from './dispatcher.js';
import type { OutboxRouter } from './outbox-router.js';
import { SOURCE_STATES, transition, type SourceEvent, type SourceState } from './source-state.js';

export interface CoordinatorDeps {
  readonly adapter: AnySourceAdapter;
  readonly bus: SourceBus;
  /** The subject prefix events are published under. */
  readonly prefix: string;
  readonly commitIntervalMs: number;
  readonly log: Logger;
  /** With a fleet: this process takes no more than its share and hands over what it holds past it. */
  readonly fleet?: FleetShare;
  /** The source's outbox tables, routed as application events. */
  readonly outbox?: OutboxRouter | undefined;
}

/** How often a holder asks the fleet whether to hand its source over. */
const YIELD_CHECK_MS = 1000;
/** How long a hand-off may take to stop and commit before the source is stopped hard. */
const HAND_OFF_GRACE_MS = 15_000;

export class SourceCoordinator {
  readonly #d: CoordinatorDeps;
  #state: SourceState = 'idle';
  readonly #abort = new AbortController();
  #detail = '';
  readonly #lease: Lease;

  constructor(deps: CoordinatorDeps) {
    this.#d = deps;
    this.#lease = deps.bus.lease(deps.adapter.name);
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
    const log = d.log;
    const signal = this.#abort.signal;
    const store = d.bus.offsets;
    const lease = this.#lease;
    const name = d.adapter.name;
    const fleet = d.fleet;
    const gate = fleet ? { reserve: () => fleet.reserve(name), cancel: () => fleet.release(name) } : undefined;

    this.#fire('start');
    try {
      while (!signal.aborted) {
        const inner = new AbortController();
        const stopInner = () => inner.abort();
        signal.addEventListener('abort', stopInner, { once: true });
        const leaseState: { lost: Error | null } = { lost: null };
        const handOff = new AbortController();
        let yieldCheck: NodeJS.Timeout | null = null;
        let hardStop: NodeJS.Timeout | null = null;
        try {
          const got = await lease.acquire(
            signal,
            log,
            (err) => {
              leaseState.lost = err;
              inner.abort();
            },
            gate,
          );
          if (!got) break;
          this.#fire('leaseAcquired');
          if (fleet) {
            yieldCheck = setInterval(() => {
              if (handOff.signal.aborted || !fleet.shouldYield(name)) return;
              log.info({}, 'this process holds more than its share of the fleet: handing the source over');
              handOff.abort();
              hardStop = setTimeout(() => inner.abort(), HAND_OFF_GRACE_MS);
            }, YIELD_CHECK_MS);
            yieldCheck.unref();
          }
          await this.#runHeld(store, lease, inner.signal, handOff.signal);
        } catch (err) {
          // Another instance holds the source now (or wrote its offset): stand by, never exit.
          if (!(err instanceof LeaseLostError || err instanceof OffsetConflictError)) throw err;
          leaseState.lost = err;
        } finally {
          if (yieldCheck) clearInterval(yieldCheck);
          if (hardStop) clearTimeout(hardStop);
          signal.removeEventListener('abort', stopInner);
          inner.abort();
        }
        if (signal.aborted) break;
        if (handOff.signal.aborted && leaseState.lost === null) {
          // Stopped and committed: now the lease goes, and a member below its share takes the source.
          await lease.drop();
          fleet?.release(name);
          this.#detail = 'handed over to another member of the fleet';
          this.#fire('leaseLost');
          continue;
        }
        fleet?.release(name);
        const lost = leaseState.lost ?? new LeaseLostError('stopped without a reason');
        this.#detail = errorMessage(lost);
        log.warn(
          { err: errorMessage(lost) },
          'no longer the holder of this source; waiting for the lease again',
        );
        await lease.drop(); // only deletes a lease this instance still holds
        this.#fire('leaseLost');
      }
      this.#fire('stop');
    } catch (err) {
      this.#detail = errorMessage(err);
      if (this.#state !== 'stopped' && this.#state !== 'failed') this.#fire('fatalError');
      throw err;
    } finally {
      await lease.drop();
      fleet?.release(name);
      await d.adapter.close().catch(() => {});
    }
  }

  /**
   * Runs the source while this instance holds the lease: load the offset, snapshot if needed,
   * stream; retriable errors restart from the committed offset. Returns once `held` aborts.
   */
  async #runHeld(store: OffsetStore, lease: Lease, held: AbortSignal, handOff: AbortSignal): Promise<void> {
    const d = this.#d;
    const name = d.adapter.name;
    const log = d.log;
    const commitToAck = metrics.commitLatency.labels({ source: name });
    let attempt = 0;
    while (!held.aborted && !handOff.aborted) {
      const publisher = d.bus.publisher({
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
      held.addEventListener('abort', relay, { once: true });
      // A hand-off ends the source's batches but keeps the publisher: what was read is stored and
      // its offset committed (the dispatcher's final flush) before the lease is dropped.
      const endBatches = () => ctxAbort.abort();
      handOff.addEventListener('abort', endBatches, { once: true });
      try {
        const stored = await store.load(name);
        let offset: unknown = stored ? d.adapter.offsets.parse(stored.offset) : null;
        const ctx: SourceContext = {
          signal: ctxAbort.signal,
          log,
          lastPublished: await d.bus.lastPublished(name, held),
        };
        const dispatcher = new Dispatcher({
          adapter: d.adapter,
          publisher,
          store,
          fence: lease,
          onFailed: () => ctxAbort.abort(),
          keepDeadLetter: (id, body) => d.bus.keepDeadLetter(id, body),
          outbox: d.outbox,
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
        log.info({ from: offset === null ? 'slot start' : d.adapter.offsets.describe(offset) }, 'streaming');
        attempt = 0;
        await dispatcher.run(d.adapter.stream(ctx, offset));
        if (handOff.aborted) break;
        if (!held.aborted) throw new Error('the change stream ended unexpectedly');
      } catch (err) {
        if (held.aborted || handOff.aborted) break;
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
        await sleep(wait, held);
        this.#fire('backoffElapsed');
      } finally {
        held.removeEventListener('abort', relay);
        handOff.removeEventListener('abort', endBatches);
        ctxAbort.abort();
        await d.adapter.close().catch(() => {});
        await publisher.close();
      }
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

  /**
   * Written only by the lease holder: a standby (or an instance that just lost the lease) writing
   * here would hide the streaming instance's state from `sluice status`.
   */
  async #publishStatus(): Promise<void> {
    if (!this.#lease.held) return;
    await this.#d.bus.writeStatus(this.#d.adapter.name, {
      state: this.#state,
      owner: this.#lease.owner,
      detail: this.#detail,
      pid: process.pid,
      at: new Date().toISOString(),
    });
  }
}
