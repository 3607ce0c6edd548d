// Runs one sink: lease → read the position from the target → consume from the position + 1 →
// apply each batch in ONE target transaction that also advances the position → ack. Order of
// durability: target commit first, JetStream ack after; a restart skips what the target already
// holds, so an event is never applied twice and never skipped.
//
//   idle → waiting (lease) → applying ⇄ retrying → stopped
//
// Any failure (target down, NATS down, position moved by another process) goes back through the
// lease with backoff; a row the target refuses goes to `<prefix>.dlq.sinks.<sink>` and the sink
// goes on.
import type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
import { jetstream } from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Knex } from 'knex';
import type { SinkConfig } from '../config/sinks.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { ResourceSpec } from '../core/mapping.js';
import type { Logger } from '../core/source-adapter.js';
import { SourceLease } from '../nats/lease.js';
import { msgPosition, openSinkConsumer, toSinkEvent } from '../nats/sink-consumer.js';
import { conflictSubject, kvKey, sinkDeadLetterSubject } from '../nats/subjects.js';
import { dialectForUrl } from '../sql/dialects.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import { AsyncQueue } from '../util/async-queue.js';
import { metrics } from '../util/metrics.js';
import { sleep } from '../util/sleep.js';
import {
  rejectionOf,
  SinkApplier,
  type RejectedEvent,
  type SinkConflict,
  type SinkEvent,
} from './sink-apply.js';
import { checkConflictPolicy } from './conflict-policy-check.js';
import { SinkMapping } from './sink-mapping.js';
import { ensureMarkerTable, writeMarker } from './sink-marker.js';
import { advancePosition, ensurePositionTable, loadPosition, type SinkPosition } from './sink-position.js';

/** The events of one batch, converted as they arrive; `count` includes what is not applied. */
interface Batch {
  readonly events: SinkEvent[];
  count: number;
  last: JsMsg | null;
}

function newBatch(): Batch {
  return { events: [], count: 0, last: null };
}

/** A message off the consumer, with its event (null: not a change). */
interface Arrived {
  readonly m: JsMsg;
  readonly seq: number;
  readonly e: SinkEvent | null;
}

function add(b: Batch, { m, e }: Arrived): void {
  b.count++;
  b.last = m;
  // Not a change, or a change a sink wrote (two-way: its echo must not come back).
  if (e && e.origin === undefined) b.events.push(e);
}

/** The replication origin (or marker) a sink's writes carry; postgres sources read the sink's name back from it. */
export function sinkOrigin(sink: string): string {
  return `sluice_sink_${sink}`;
}

export type SinkState = 'idle' | 'waiting' | 'applying' | 'retrying' | 'stopped' | 'failed';

export interface SinkRunnerDeps {
  readonly cfg: SinkConfig;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
  readonly kv: KV;
  readonly stream: string;
  readonly prefix: string;
  readonly leaseTtlMs: number;
  readonly resources?: Readonly<Record<string, ResourceSpec>>;
  readonly log: Logger;
}

export class SinkRunner {
  readonly #d: SinkRunnerDeps;
  readonly #abort = new AbortController();
  readonly #lease: SourceLease;
  #state: SinkState = 'idle';
  #detail = '';
  #position: SinkPosition | null = null;
  #lag = 0;
  #statusAt = 0;
  #statusEvents = 0;

  constructor(deps: SinkRunnerDeps) {
    this.#d = deps;
    this.#lease = new SourceLease(deps.kv, deps.cfg.name, deps.leaseTtlMs, 'sinkLease');
  }

  get name(): string {
    return this.#d.cfg.name;
  }

  get state(): SinkState {
    return this.#state;
  }

  /** The last position this process committed (null before the first read). */
  get position(): SinkPosition | null {
    return this.#position;
  }

  stop(): void {
    this.#abort.abort();
  }

  async run(): Promise<void> {
    const d = this.#d;
    const signal = this.#abort.signal;
    const dialect = await dialectForUrl(d.cfg.url);
    const { default: knexFactory } = await import('knex');
    // The source session's config: values as change events carry them (and UTC on MySQL).
    // With twoWay, every write is marked with the sink's origin (two-way sync without echo).
    const knex = knexFactory(
      await dialect.sinkKnexConfig(d.cfg.url, d.cfg.twoWay ? sinkOrigin(d.cfg.name) : null, d.cfg.tls),
    );
    const applier = new SinkApplier(
      dialect,
      new SinkMapping(d.cfg, d.resources),
      d.cfg.twoWay ? d.cfg.conflicts : null,
    );
    let attempt = 0;
    try {
      while (!signal.aborted) {
        this.#set('waiting');
        const held = new AbortController();
        const stopHeld = () => held.abort();
        signal.addEventListener('abort', stopHeld, { once: true });
        try {
          const got = await this.#lease.acquire(signal, d.log, (err) => {
            this.#detail = errorMessage(err);
            held.abort();
          });
          if (!got) break;
          await this.#runHeld(knex, dialect, applier, held.signal, () => (attempt = 0));
        } catch (err) {
          if (signal.aborted) break;
          if (err instanceof ConfigError) throw err; // no retry fixes the setup
          attempt++;
          const wait = Math.min(30_000, 250 * 2 ** Math.min(attempt, 7));
          this.#detail = errorMessage(err);
          d.log.warn(
            { err: this.#detail, attempt, retryInMs: wait },
            'sink failed; retrying from its position',
          );
          this.#set('retrying');
          await this.#lease.drop();
          await sleep(wait, signal);
        } finally {
          signal.removeEventListener('abort', stopHeld);
          held.abort();
        }
      }
      this.#set('stopped');
    } catch (err) {
      this.#detail = errorMessage(err);
      this.#set('failed');
      throw err;
    } finally {
      await this.#lease.drop();
      await knex.destroy().catch(() => {});
    }
  }

  async #runHeld(
    knex: Knex,
    dialect: SqlDialect,
    applier: SinkApplier,
    held: AbortSignal,
    onProgress: () => void,
  ): Promise<void> {
    const d = this.#d;
    const name = d.cfg.name;
    await ensurePositionTable(knex);
    await checkConflictPolicy(knex, dialect, d.cfg);
    if (this.#marks(dialect)) await ensureMarkerTable(knex);
    let pos = await loadPosition(knex, name);
    this.#position = pos;
    const messages = await openSinkConsumer(
      d.nc,
      d.jsm,
      { stream: d.stream, prefix: d.prefix, sink: name, source: d.cfg.from, buffer: d.cfg.batchSize * 4 },
      pos.seq,
    );
    // The consumer's messages go through a bounded queue, so a batch is "what has arrived, up to
    // batchSize": applied at once when nothing more is waiting, bigger under a backlog.
    // Each message is parsed here, while the previous batch's transaction is in flight.
    const queue = new AsyncQueue<Arrived>(d.cfg.batchSize * 4);
    const pump = (async () => {
      try {
        for await (const m of messages) await queue.push({ m, seq: m.seq, e: toSinkEvent(m) });
        queue.end();
      } catch (err) {
        queue.fail(err);
      }
    })();
    const onAbort = () => {
      messages.stop();
      queue.end();
    };
    held.addEventListener('abort', onAbort, { once: true });
    this.#set('applying');
    d.log.info({ sink: name, after: pos.seq }, 'sink applying');
    let batch: Batch = newBatch();
    try {
      for await (const a of queue) {
        if (a.seq <= pos.seq) continue; // already in the target (a redelivery)
        const { m } = a;
        add(batch, a);
        if (batch.count < d.cfg.batchSize) {
          if (queue.size > 0) continue;
          // One turn of the event loop lets messages already received (or in the socket) in.
          await new Promise((r) => setImmediate(r));
          if (queue.size > 0) continue;
        }
        this.#lag = m.info.pending;
        await this.#lease.assertHeld();
        pos = await this.#applyBatch(knex, dialect, applier, pos, batch);
        this.#position = pos;
        m.ack(); // AckPolicy.All: covers the whole batch
        batch = newBatch();
        onProgress();
        metrics.sinkLag.set({ sink: name }, this.#lag);
        this.#writeStatus(false);
        if (held.aborted) break;
      }
    } finally {
      held.removeEventListener('abort', onAbort);
      messages.stop();
      queue.end();
      await pump;
    }
    if (!held.aborted) throw new Error('the sink consumer ended unexpectedly');
  }

  async #applyBatch(
    knex: Knex,
    dialect: SqlDialect,
    applier: SinkApplier,
    from: SinkPosition,
    batch: Batch,
  ): Promise<SinkPosition> {
    const d = this.#d;
    const name = d.cfg.name;
    const { events } = batch;
    const last = batch.last!;
    const to: SinkPosition = {
      seq: last.seq,
      sourcePosition: (last.subject.endsWith('._dlq') ? null : msgPosition(last)) ?? from.sourcePosition,
      events: from.events + batch.count,
      updatedMs: Date.now(),
    };
    const end = metrics.sinkBatchSeconds.startTimer({ sink: name });
    const rejection = rejectionOf(dialect);
    try {
      await knex.transaction(async (trx) => {
        if (this.#marks(dialect)) await writeMarker(trx, dialect, name, to.seq);
        await applier.apply(trx, events);
        for (const c of applier.conflicts) await this.#conflict(c);
        await advancePosition(trx, name, from, to);
      });
    } catch (err) {
      if (rejection(err) === null) throw err;
      // Some row was refused: apply the batch again one event at a time, each under a savepoint,
      // and send the refused ones to the dead-letter subject before the commit (their Nats-Msg-Id
      // is the stream sequence, so a retry after a crash is deduplicated).
      await knex.transaction(async (trx) => {
        if (this.#marks(dialect)) await writeMarker(trx, dialect, name, to.seq);
        const rejected = await applier.applyEach(trx, events, rejection);
        for (const r of rejected) await this.#deadLetter(r);
        for (const c of applier.conflicts) await this.#conflict(c);
        await advancePosition(trx, name, from, to);
      });
    }
    end();
    metrics.sinkEventsApplied.inc({ sink: name }, batch.count);
    return to;
  }

  /** Two-way on a target that tells a sink's writes by a marker row (MySQL/MariaDB). */
  #marks(dialect: SqlDialect): boolean {
    return this.#d.cfg.twoWay && dialect.sinkMarks === 'marker';
  }

  async #deadLetter(r: RejectedEvent): Promise<void> {
    const d = this.#d;
    metrics.sinkDeadLettered.inc({ sink: d.cfg.name });
    d.log.warn(
      { sink: d.cfg.name, seq: r.event.seq, table: `${r.event.schema}.${r.event.table}`, kind: r.kind },
      'the target refused an event; sent to the dead-letter subject',
    );
    await jetstream(d.nc).publish(
      sinkDeadLetterSubject(d.prefix, d.cfg.name),
      JSON.stringify({ sink: d.cfg.name, seq: r.event.seq, kind: r.kind, reason: r.reason, event: r.event }),
      { msgID: `sink:${d.cfg.name}:${r.event.seq}` },
    );
  }

  /** Published before the batch commits; the Nats-Msg-Id (the event's sequence) absorbs a retry. */
  async #conflict(c: SinkConflict): Promise<void> {
    const d = this.#d;
    metrics.sinkConflicts.inc({ sink: d.cfg.name, winner: c.winner });
    await jetstream(d.nc).publish(
      conflictSubject(d.prefix, d.cfg.name),
      JSON.stringify({
        sink: d.cfg.name,
        seq: c.event.seq,
        table: c.table,
        key: c.key,
        policy: c.policy,
        winner: c.winner,
        source: { op: c.event.op, before: c.event.before, after: c.event.after, ts_ms: c.event.tsMs },
        target: c.target,
        ...(c.targetTsMs === undefined ? {} : { target_ts_ms: c.targetTsMs }),
      }),
      { msgID: `conflict:${d.cfg.name}:${c.event.seq}` },
    );
  }

  #set(state: SinkState): void {
    if (state === this.#state) return;
    this.#state = state;
    this.#writeStatus(true);
  }

  /** The sink's status in the KV bucket (`sluice status`); at most once a second unless the state changed. */
  #writeStatus(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.#statusAt < 1000) return;
    if (!this.#lease.held && this.#state !== 'stopped') return;
    const p = this.#position;
    const since = (now - this.#statusAt) / 1000;
    const rate = p && this.#statusAt > 0 && since > 0 ? (p.events - this.#statusEvents) / since : 0;
    this.#statusAt = now;
    this.#statusEvents = p?.events ?? 0;
    const body = {
      state: this.#state,
      owner: this.#lease.owner,
      detail: this.#detail,
      pid: process.pid,
      at: new Date(now).toISOString(),
      streamSeq: p?.seq ?? null,
      sourcePosition: p?.sourcePosition ?? null,
      events: p?.events ?? null,
      lag: this.#lag,
      eventsPerSecond: Math.round(rate),
    };
    void this.#d.kv.put(kvKey('sinkStatus', this.#d.cfg.name), JSON.stringify(body)).catch(() => {});
  }
}
