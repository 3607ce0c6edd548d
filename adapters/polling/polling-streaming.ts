// The poll loop: each round visits every table once, reads what the visibility horizon allows,
// and hands it on as batches whose offset holds every table's cursor. The first pass of a table
// (the snapshot) emits `r`; later rounds emit `c`/`u` (incrementing and timestamp tables) and
// `c`/`u`/`d` (diff tables).
import type { Knex } from 'knex';
import type { Op, SourceChange } from '../../src/core/change-event.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { classifyPollingError } from './polling-errors.js';
import type { PollingOffset, TableCursor } from './polling-offset.js';
import { keysetPages } from '../../src/core/keyset-snapshot.js';
import { knexChunks, type KeyedTable } from '../../src/sql/keyset.js';
import { incrementingQuery, maxQuery, rowversionQuery, timestampQuery } from './polling-query.js';
import type { SqlSession } from '../../src/sql/sql-session.js';
import type { StateStore, StoredHash, StoreWrite } from './polling-state-store.js';
import { bindable, normalizeRow, type Row } from '../../src/sql/sql-values.js';
import { digest, keyText, rowHash } from './polling-types.js';
import { sleep } from '../../src/util/sleep.js';

export interface ResolvedTable extends KeyedTable {
  readonly mode: 'incrementing' | 'timestamp' | 'diff';
  /** SQL Server rowversion column: bounded by MIN_ACTIVE_ROWVERSION() directly. */
  readonly rowversion: boolean;
}

export interface EngineOptions {
  readonly pollInterval: number;
  readonly chunkSize: number;
}

export function freshCursor(t: ResolvedTable): TableCursor {
  switch (t.mode) {
    case 'incrementing':
      return { mode: 'incrementing', last: null, pending: null };
    case 'timestamp':
      return { mode: 'timestamp', last: null, pending: null };
    case 'diff':
      return { mode: 'diff', pass: 0, chunk: 0, after: null, phase: 'scan' };
    default: {
      const never: never = t.mode;
      throw new Error(`unknown mode ${String(never)}`);
    }
  }
}

type Batch = ChangeBatch<PollingOffset>;

/** A timestamp row's version as handed on in the batch numbered `seq`. */
interface Handed {
  readonly seq: number;
  readonly version: string;
}

export class PollingEngine {
  #state!: PollingOffset;
  /** Tables whose first cycle only records where they are (snapshot: never). */
  readonly #silent = new Set<string>();
  /** When each diff table last started a pass. */
  readonly #passStarted = new Map<string, number>();
  /** Tables whose current pass started over an empty state file (no lookups needed in it). */
  readonly #emptyPass = new Set<string>();
  /**
   * Timestamp tables: the version of each key handed on in a batch not yet acknowledged. The store
   * only learns a version once its batch is acknowledged (acknowledged()), so a row the store
   * knows is a row whose event is committed: skipping it when it is read again loses nothing.
   */
  readonly #handed = new Map<string, Map<string, Handed>>();
  /** This run's number (StateStore.nextRun): part of the message id of an event that replaces one in doubt. */
  #run = 0;
  /** Key-ordered chunks for diff passes. */
  readonly #read: ReturnType<typeof knexChunks>;

  constructor(
    readonly s: SqlSession,
    readonly knex: Knex,
    readonly tables: readonly ResolvedTable[],
    readonly opts: EngineOptions,
    readonly store: StateStore | null,
  ) {
    this.#read = knexChunks(knex);
  }

  /** Where a source with no committed offset starts. */
  initial(phase: PollingOffset['phase']): PollingOffset {
    return {
      phase,
      seq: 0,
      tables: Object.fromEntries(this.tables.map((t) => [t.qualified, freshCursor(t)])),
    };
  }

  /**
   * Runs from `from`. In the snapshot phase it ends once every table's first pass is published
   * (the last batch switches the phase to `stream`, synchronously committed); in the stream phase
   * it ends when the signal aborts.
   */
  async *run(
    ctx: SourceContext,
    from: PollingOffset | null,
    phase: PollingOffset['phase'],
  ): AsyncGenerator<Batch> {
    const start = from ?? this.initial(phase);
    this.#state = structuredClone(start);
    this.#run = this.store?.nextRun() ?? 0;
    // Handed on up to `start` means committed; anything later was never committed and is read again.
    this.acknowledged(start.seq);
    this.#handed.clear();
    for (const t of this.tables) {
      if (!this.#state.tables[t.qualified]) this.#state.tables[t.qualified] = freshCursor(t);
      if (from === null && phase === 'stream') this.#silent.add(t.qualified);
      const c = this.#state.tables[t.qualified]!;
      // A diff table's rows whose events came after the committed offset are in doubt (README.md,
      // "Restarts"); a source with no committed offset at all resumes the same way, from pass 0.
      if (c.mode === 'diff' && this.store) this.store.restore(t.qualified, c.pass, c.chunk);
      // A timestamp table starting over must not skip rows a previous run of this source acknowledged.
      if (c.mode === 'timestamp' && c.last === null && c.pending === null) this.store?.clear(t.qualified);
    }
    try {
      if (this.#state.phase === 'snapshot') {
        const done = new Set<string>();
        while (!ctx.signal.aborted && done.size < this.tables.length) {
          for (const t of this.tables) {
            if (done.has(t.qualified) || ctx.signal.aborted) continue;
            if (yield* this.#step(t, 'r')) done.add(t.qualified);
          }
          if (done.size < this.tables.length) await sleep(this.opts.pollInterval, ctx.signal);
        }
        if (ctx.signal.aborted) return;
        this.#state.phase = 'stream';
        yield { changes: [], offset: this.#snapshotOffset(), sync: true };
        ctx.log.info({ tables: this.tables.length }, 'first pass complete');
        return;
      }
      while (!ctx.signal.aborted) {
        for (const t of this.tables) {
          if (ctx.signal.aborted) return;
          const finished = yield* this.#step(t, null);
          if (finished) this.#silent.delete(t.qualified);
        }
        await sleep(this.opts.pollInterval, ctx.signal);
      }
    } catch (err) {
      if (ctx.signal.aborted) return;
      throw classifyPollingError(err, `polling ${this.s.cfg.name} failed`);
    }
  }

  /** Batches up to `seq` are committed: their timestamp versions go to the store. */
  acknowledged(seq: number): void {
    if (!this.store) return;
    for (const [table, keys] of this.#handed) {
      const writes: { key: string; hash: string }[] = [];
      for (const [key, h] of keys)
        if (h.seq <= seq) {
          writes.push({ key, hash: h.version });
          keys.delete(key);
        }
      if (writes.length > 0) this.store.writeChunk(table, 0, 0, writes);
    }
  }

  /** The last version of a timestamp row handed on (acknowledged or not), or null. */
  #seenVersion(table: string, key: string): string | null {
    return this.#handed.get(table)?.get(key)?.version ?? this.store?.get(table, key)?.hash ?? null;
  }

  #hand(table: string, seq: number, versions: readonly { key: string; version: string }[]): void {
    let keys = this.#handed.get(table);
    if (!keys) this.#handed.set(table, (keys = new Map()));
    for (const v of versions) keys.set(v.key, { seq, version: v.version });
  }

  #snapshotOffset(): PollingOffset {
    this.#state.seq++;
    return structuredClone(this.#state);
  }

  #emit(changes: SourceChange[]): Batch {
    return { changes, offset: this.#snapshotOffset() };
  }

  /** One table's work for this round; true when a full cycle (pending range read, or diff pass) finished. */
  async *#step(t: ResolvedTable, forced: Op | null): AsyncGenerator<Batch, boolean> {
    const c = this.#state.tables[t.qualified]!;
    switch (c.mode) {
      case 'incrementing':
      case 'timestamp':
        if (t.rowversion) return yield* this.#rowversion(t, c, forced);
        return yield* this.#ranged(t, c, forced);
      case 'diff':
        return yield* this.#diff(t, c, forced);
      default: {
        const never: never = c;
        throw new Error(`unknown cursor ${JSON.stringify(never)}`);
      }
    }
  }

  #keyOf(t: ResolvedTable, row: Row): Record<string, unknown> {
    const key: Record<string, unknown> = {};
    for (const k of t.key) key[k] = row[k];
    return key;
  }

  #change(
    t: ResolvedTable,
    op: Op,
    row: Row | null,
    before: Row | null,
    key: Record<string, unknown>,
    position: string,
    index: number,
    cursor?: string,
  ): SourceChange {
    return this.s.change({
      op,
      schema: t.schema,
      table: t.name,
      before,
      after: row,
      key,
      tsMs: Date.now(),
      snapshot: op === 'r' ? 'true' : 'false',
      cursor,
      position,
      index,
    });
  }

  /**
   * incrementing and timestamp tables: wait until the horizon passes the pending bound, then read up
   * to it. A timestamp poll starts *at* the cursor's value, not after it: a row stamped with that
   * same value can commit after the cursor reached it (a coarse column, or a transaction that began
   * just after the mark), and its key may sort before the cursor's. Rows read again are skipped
   * when their key was already handed on at that version (dedup by key and version).
   */
  async *#ranged(
    t: ResolvedTable,
    c: Extract<TableCursor, { mode: 'incrementing' | 'timestamp' }>,
    forced: Op | null,
  ): AsyncGenerator<Batch, boolean> {
    const strict = c.mode === 'timestamp';
    if (c.pending === null) {
      const lastValue = c.mode === 'incrementing' ? c.last : (c.last?.value ?? null);
      const row = (await maxQuery(this.knex, t, lastValue, strict).first()) as { m: unknown } | undefined;
      const max = bindable(row?.m ?? null);
      if (max === null) return true;
      c.pending = { upTo: max, mark: await this.s.horizon.mark() };
    }
    if (!(await this.s.horizon.passed(c.pending.mark, strict))) return false;
    const upTo = c.pending.upTo;
    const silent = this.#silent.has(t.qualified);
    let after: { value: string | number | null; key: (string | number | null)[] } | null = null;
    for (;;) {
      const q =
        c.mode === 'incrementing'
          ? incrementingQuery(this.knex, t, c.last, upTo, this.opts.chunkSize)
          : timestampQuery(this.knex, t, after, upTo, this.opts.chunkSize, c.last?.value ?? null);
      const rows = ((await q) as Row[]).map(normalizeRow);
      if (rows.length === 0) break;
      const last = rows[rows.length - 1]!;
      if (c.mode === 'incrementing') {
        c.last = bindable(last[t.column!]);
        if (!silent) yield this.#emit(this.#rangedChanges(t, 'incrementing', rows, forced, false).changes);
      } else {
        const moved = !sameCursor(c.last, (after = cursorOf(t, last)));
        c.last = after;
        const { changes, versions } = this.#rangedChanges(t, 'timestamp', rows, forced, silent);
        if (changes.length > 0 || versions.length > 0 || moved) {
          const batch = this.#emit(changes);
          this.#hand(t.qualified, this.#state.seq, versions);
          yield batch;
        }
      }
      if (rows.length < this.opts.chunkSize) break;
    }
    if (c.mode === 'incrementing') c.last = upTo;
    c.pending = null;
    if (silent) yield this.#emit([]);
    return true;
  }

  /** Events for rows of a ranged read; for timestamp tables, rows already handed on at their version are left out. */
  #rangedChanges(
    t: ResolvedTable,
    mode: 'incrementing' | 'timestamp',
    rows: Row[],
    forced: Op | null,
    silent: boolean,
  ): { changes: SourceChange[]; versions: { key: string; version: string }[] } {
    const changes: SourceChange[] = [];
    const versions: { key: string; version: string }[] = [];
    for (const row of rows) {
      const key = this.#keyOf(t, row);
      const kt = keyText(t.key.map((k) => row[k]));
      const version = String(bindable(row[t.column!]));
      let op: Op = forced ?? 'c';
      if (mode === 'timestamp' && this.store) {
        const seen = this.#seenVersion(t.qualified, kt);
        if (seen === version) continue;
        // c or u from the key set this source has seen (the store keeps it across restarts).
        if (!forced && seen !== null) op = 'u';
        versions.push({ key: kt, version });
      }
      if (silent) continue;
      const position =
        mode === 'incrementing'
          ? `${t.qualified}:i:${version}`
          : `${t.qualified}:t:${digest(`${version}\u0000${kt}`)}`;
      changes.push(this.#change(t, op, row, null, key, position, 0, version));
    }
    return { changes, versions };
  }

  /** SQL Server rowversion columns: MIN_ACTIVE_ROWVERSION() is the bound, so no waiting. */
  async *#rowversion(
    t: ResolvedTable,
    c: Extract<TableCursor, { mode: 'incrementing' | 'timestamp' }>,
    forced: Op | null,
  ): AsyncGenerator<Batch, boolean> {
    const silent = this.#silent.has(t.qualified);
    for (;;) {
      const after = c.mode === 'incrementing' ? c.last : (c.last?.value ?? null);
      const raw = (await rowversionQuery(
        this.knex,
        t,
        after === null ? null : Number(after),
        this.opts.chunkSize,
      )) as Row[];
      if (raw.length === 0) return true;
      const rv = Number(raw[raw.length - 1]!.sluice_rv);
      const rows = raw.map((r) => {
        const { sluice_rv: _rv, ...rest } = r;
        return normalizeRow(rest);
      });
      if (c.mode === 'incrementing') c.last = rv;
      else c.last = { value: rv, key: [] };
      const { changes, versions } = this.#rangedChanges(t, 'timestamp', rows, forced, silent);
      const batch = this.#emit(changes);
      this.#hand(t.qualified, this.#state.seq, versions);
      if (!silent || versions.length > 0) yield batch;
      if (raw.length < this.opts.chunkSize) return true;
    }
  }

  /**
   * diff tables: one pass compares every row's hash (key-ordered chunks) with the previous pass;
   * keys the pass did not see are deletes. Store writes for a chunk precede its batch and are kept
   * on restart: a row whose event came after the committed offset is in doubt (StateStore.restore)
   * and its next read hands its current value on again (#diffEvent).
   */
  async *#diff(
    t: ResolvedTable,
    c: Extract<TableCursor, { mode: 'diff' }>,
    forced: Op | null,
  ): AsyncGenerator<Batch, boolean> {
    const store = this.store!;
    if (c.phase === 'done') {
      const started = this.#passStarted.get(t.qualified) ?? 0;
      if (Date.now() - started < this.opts.pollInterval) return false;
      c.pass++;
      c.chunk = 0;
      c.after = null;
      c.phase = 'scan';
    }
    if (c.chunk === 0) {
      this.#passStarted.set(t.qualified, Date.now());
      // A pass that starts over an empty state (a fresh first pass) can skip its per-row lookups:
      // the keys it writes are all new and come in key order.
      if (store.isEmpty(t.qualified)) this.#emptyPass.add(t.qualified);
      else this.#emptyPass.delete(t.qualified);
    }
    const silent = this.#silent.has(t.qualified) || (c.pass === 0 && forced === null);
    if (c.phase === 'scan') {
      for await (const page of keysetPages(t, c.after, this.#read, this.opts.chunkSize)) {
        c.chunk++;
        const writes: StoreWrite[] = [];
        const changes: SourceChange[] = [];
        for (const row of page.rows) {
          const kt = keyText(t.key.map((k) => row[k]));
          const hash = rowHash(row);
          const prev = this.#emptyPass.has(t.qualified) ? null : store.get(t.qualified, kt);
          const ev = this.#diffEvent(t, c.pass, silent, kt, hash, prev);
          writes.push({ key: kt, hash, emitted: ev && `${ev.op} ${ev.position}` });
          if (ev) changes.push(this.#change(t, ev.op, row, null, this.#keyOf(t, row), ev.position, 0));
        }
        store.writeChunk(t.qualified, c.pass, c.chunk, writes);
        c.after = page.lastKey as (string | number | null)[];
        yield this.#emit(changes);
      }
      c.phase = 'delete';
      c.after = null;
    }
    while (c.phase === 'delete') {
      const keys = store.unseen(
        t.qualified,
        c.pass,
        (c.after?.[0] as string | undefined) ?? null,
        this.opts.chunkSize,
      );
      if (keys.length === 0) break;
      c.chunk++;
      const writes: StoreWrite[] = [];
      const changes: SourceChange[] = [];
      for (const u of keys) {
        const ev = this.#diffEvent(t, c.pass, silent, u.key, null, u);
        writes.push({ key: u.key, hash: null, emitted: ev && `${ev.op} ${ev.position}` });
        if (!ev) continue;
        const values = JSON.parse(u.key) as unknown[];
        const key = Object.fromEntries(t.key.map((k, j) => [k, values[j]]));
        changes.push(this.#change(t, ev.op, null, key, key, ev.position, 0));
      }
      store.writeChunk(t.qualified, c.pass, c.chunk, writes);
      c.after = [keys[keys.length - 1]!.key];
      yield this.#emit(changes);
    }
    c.phase = 'done';
    c.after = null;
    yield this.#emit([]);
    return true;
  }

  /**
   * The event (op and position) for a diff row read with `hash` (null: not seen, deleted), or null.
   * A row in doubt (its last event came after the committed offset: it may or may not be stored)
   * always gets one: the same event again if the row is as that event left it (same message id, so
   * JetStream drops it if stored), else the current value under an id no earlier run used, since
   * the id this pass would give it may belong to an earlier event of that row that a later one
   * superseded (A, B, then A again). Other rows' ids are made of pass, key and hash: a re-read after
   * a restart gives an unchanged row the same id and a changed one a new id.
   */
  #diffEvent(
    t: ResolvedTable,
    pass: number,
    silent: boolean,
    kt: string,
    hash: string | null,
    prev: StoredHash | null,
  ): { op: Op; position: string } | null {
    const id = digest(`${kt}\u0000${hash ?? ''}`);
    if (prev?.doubt && prev.emitted !== null) {
      if (prev.hash === hash) {
        const space = prev.emitted.indexOf(' ');
        return { op: prev.emitted.slice(0, space) as Op, position: prev.emitted.slice(space + 1) };
      }
      // In the first pass too: an `r` for this row may already be stored, so this is a change of it.
      const op: Op = hash === null ? 'd' : prev.hash === null ? 'c' : 'u';
      return { op, position: `${t.qualified}:d${pass}r${this.#run}:${id}` };
    }
    if (silent) return null;
    const position = `${t.qualified}:d${pass}:${id}`;
    if (hash === null) return { op: 'd', position };
    if (pass === 0) return { op: 'r', position };
    if (prev?.hash === hash) return null;
    return { op: prev?.hash ? 'u' : 'c', position };
  }
}

type TimestampCursor = Extract<TableCursor, { mode: 'timestamp' }>['last'];

function cursorOf(
  t: ResolvedTable,
  row: Row,
): NonNullable<TimestampCursor> & {
  value: string | number | null;
  key: (string | number | null)[];
} {
  return { value: bindable(row[t.column!]), key: t.key.map((k) => bindable(row[k])) };
}

function sameCursor(a: TimestampCursor, b: TimestampCursor): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
