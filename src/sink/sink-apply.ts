// Applies a batch of change events to a sink's target inside one transaction: upsert on r/c/u,
// delete on d, delete-all on t, a key change as delete-then-insert. Consecutive writes of one kind
// to one table go out as one statement (several rows per upsert, one IN list per delete), in
// stream order otherwise, so per key the target sees the stream's order.
import type { Knex } from 'knex';
import type { Op } from '../core/change-event.js';
import { errorMessage } from '../core/errors.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import type { SinkMapping, TargetTable } from './sink-mapping.js';
import { sameDbValue } from './verify-values.js';

type Row = Record<string, unknown>;

/** One event as the sink reads it from the stream. */
export interface SinkEvent {
  /** JetStream stream sequence. */
  readonly seq: number;
  /** The source position from the event's Nats-Msg-Id (null when it has none or was not read). */
  readonly position: string | null;
  readonly schema: string;
  readonly table: string;
  readonly op: Op;
  readonly before: Row | null;
  readonly after: Row | null;
  /** The row's key in source column names (the Sluice-Key header). */
  readonly key: Row | null;
  readonly unavailable?: readonly string[] | undefined;
  /** The sink that wrote this change, when one did (two-way). */
  readonly origin?: string | undefined;
  /** Commit time at the source (ms). */
  readonly tsMs: number;
}

/** An event the target refused, with the database's reason. */
export interface RejectedEvent {
  readonly event: SinkEvent;
  readonly reason: string;
  readonly kind: string;
}

/** A row changed on both sides (two-way): what the source says, what the target holds, who won. */
export interface SinkConflict {
  readonly event: SinkEvent;
  readonly table: string;
  readonly key: Row;
  /** The target row as it was (null: the target had deleted it). */
  readonly target: Row | null;
  readonly policy: ConflictPolicy;
  readonly winner: 'source' | 'target';
  /** newerWins: when the target row last changed (ms; null when the target does not know). */
  readonly targetTsMs?: number | null;
}

export type ConflictPolicy = 'sourceWins' | 'targetWins' | 'newerWins';

/** Bound parameters per statement, under every supported database's limit (SQLite 32766, PostgreSQL 65535). */
const MAX_PARAMS = 30_000;

interface Pending {
  readonly target: TargetTable;
  readonly kind: 'upsert' | 'delete';
  readonly columns: string;
  readonly rows: Map<string, Row>;
  keyCols: readonly string[];
}

export class SinkApplier {
  readonly #dialect: SqlDialect;
  readonly #mapping: SinkMapping;
  readonly #types = new Map<string, Map<string, string>>();
  #pending: Pending | null = null;
  /** Two-way only: detect rows changed on both sides and resolve them by this policy. */
  readonly #policy: ConflictPolicy | null;
  /** Conflicts met by the last apply()/applyEach() (published by the caller before it commits). */
  conflicts: SinkConflict[] = [];

  constructor(dialect: SqlDialect, mapping: SinkMapping, policy: ConflictPolicy | null = null) {
    this.#dialect = dialect;
    this.#mapping = mapping;
    this.#policy = policy;
  }

  /** Whether the sink writes this event at all (a mapped table, not its own echo). */
  takes(e: SinkEvent): boolean {
    return this.#mapping.target(e.schema, e.table) !== null;
  }

  /** Applies `events` in order inside `trx`; throws on the first statement the target refuses. */
  async apply(trx: Knex.Transaction, events: readonly SinkEvent[], keepConflicts = false): Promise<void> {
    this.#pending = null;
    if (!keepConflicts) this.conflicts = [];
    try {
      for (const e of events) await this.#one(trx, e);
      await this.#flush(trx);
    } finally {
      this.#pending = null;
    }
  }

  /**
   * Applies `events` one by one, each under a savepoint, inside `trx`: an event the target refuses
   * (`isRejection`) is rolled back alone and returned; any other error is thrown.
   */
  async applyEach(
    trx: Knex.Transaction,
    events: readonly SinkEvent[],
    isRejection: (err: unknown) => string | null,
  ): Promise<RejectedEvent[]> {
    const rejected: RejectedEvent[] = [];
    this.conflicts = [];
    for (const e of events) {
      try {
        await trx.transaction(async (sp) => this.apply(sp, [e], true));
      } catch (err) {
        const kind = isRejection(err);
        if (kind === null) throw err;
        rejected.push({ event: e, reason: errorMessage(err), kind });
      }
    }
    return rejected;
  }

  async #one(trx: Knex.Transaction, e: SinkEvent): Promise<void> {
    const t = this.#mapping.target(e.schema, e.table);
    if (t === null) return;
    if (this.#policy !== null && e.op !== 't' && !(await this.#resolve(trx, t, e))) return;
    switch (e.op) {
      case 'r':
      case 'c':
      case 'u': {
        const after = e.after ?? {};
        const key = e.key ?? {};
        const old = e.before ? this.#keyChange(t, key, e.before, after) : null;
        if (old) {
          const oldKey = t.key(old);
          await this.#add(trx, t, 'delete', oldKey, Object.keys(oldKey));
        }
        const row = t.row(after, e.unavailable);
        await this.#add(trx, t, 'upsert', row, Object.keys(t.key(key)));
        return;
      }
      case 'd': {
        const key = t.key(e.key ?? e.before ?? {});
        await this.#add(trx, t, 'delete', key, Object.keys(key));
        return;
      }
      case 't':
        await this.#flush(trx);
        await trx(t.table).del();
        return;
      default: {
        const never: never = e.op;
        throw new Error(`unknown op ${String(never)}`);
      }
    }
  }

  /**
   * Two-way: whether the target row is what the event expects (its before image, or nothing for an
   * insert). When it is not, the row changed on both sides: recorded as a conflict, and the event
   * applies only when the source wins. newerWins compares the event's commit time at the source
   * (`ts_ms`) with the target row's last change (`changedAt`, or the target's commit timestamp):
   * the source wins when it is not older, or when the target's time is unknown.
   */
  async #resolve(trx: Knex.Transaction, t: TargetTable, e: SinkEvent): Promise<boolean> {
    let expected: Row | null;
    if (e.op === 'c' || e.op === 'r') expected = null;
    else if (e.before && Object.keys(e.before).length > Object.keys(e.key ?? {}).length)
      expected = t.row(e.before);
    else return true; // only the key in the before image (REPLICA IDENTITY DEFAULT): nothing to compare
    const key = t.key(e.key ?? e.before ?? {});
    await this.#flush(trx);
    const commitTime =
      this.#policy === 'newerWins' && t.changedAt === undefined ? this.#dialect.rowCommitTime : null;
    const q = trx(t.table).where(key as Record<string, Knex.Value>);
    const found = (await (commitTime
      ? q.first('*', trx.raw(`${commitTime.sql} AS ${this.#dialect.quoteIdentifier(COMMIT_TIME)}`))
      : q.first())) as Row | undefined;
    let changed: unknown = null;
    if (found && commitTime) {
      changed = found[COMMIT_TIME];
      delete found[COMMIT_TIME];
    } else if (found && t.changedAt !== undefined) changed = found[t.changedAt];
    const current = found ?? null;
    const same =
      expected === null
        ? current === null || (e.after !== null && sameRow(t.row(e.after, e.unavailable), current))
        : current !== null && sameRow(expected, current);
    if (same) return true;
    if (e.op === 'd' && current === null) return true; // deleted on both sides
    const policy = this.#policy!;
    let winner: 'source' | 'target' = policy === 'targetWins' ? 'target' : 'source';
    let targetTsMs: number | null | undefined;
    if (policy === 'newerWins') {
      targetTsMs = timeMs(changed);
      winner = targetTsMs === null || e.tsMs >= targetTsMs ? 'source' : 'target';
    }
    this.conflicts.push({ event: e, table: t.table, key, target: current, policy, winner, targetTsMs });
    return winner === 'source';
  }

  /** The old key (source names) when an update changed the row's key columns, else null. */
  #keyChange(t: TargetTable, key: Readonly<Row>, before: Readonly<Row>, after: Readonly<Row>): Row | null {
    const cols = t.sourceKeyColumns(key);
    const old: Row = {};
    let changed = false;
    for (const c of cols) {
      if (!Object.hasOwn(before, c)) return null;
      old[c] = before[c];
      if (!sameValue(before[c], after[c])) changed = true;
    }
    return changed ? old : null;
  }

  async #add(
    trx: Knex.Transaction,
    t: TargetTable,
    kind: 'upsert' | 'delete',
    row: Row,
    keyCols: readonly string[],
  ): Promise<void> {
    const columns = Object.keys(row).join('\0');
    let p = this.#pending;
    if (p && (p.target !== t || p.kind !== kind || p.columns !== columns)) {
      await this.#flush(trx);
      p = null;
    }
    if (!p) {
      p = { target: t, kind, columns, rows: new Map(), keyCols };
      this.#pending = p;
    }
    const id = JSON.stringify(keyCols.map((k) => row[k]));
    // A later image of the same key replaces the earlier one (one statement cannot touch a row twice).
    p.rows.delete(id);
    p.rows.set(id, row);
  }

  async #flush(trx: Knex.Transaction): Promise<void> {
    const p = this.#pending;
    this.#pending = null;
    if (!p || p.rows.size === 0) return;
    const types = await this.#columnTypes(trx, p.target);
    // The rows are this applier's own objects (TargetTable.row/key build them): bound in place.
    const rows = [...p.rows.values()];
    for (const r of rows) for (const c in r) r[c] = this.#dialect.sinkValue(r[c], types.get(c) ?? '');
    const width = Math.max(1, Object.keys(rows[0]!).length);
    if (p.kind === 'upsert') {
      const per = Math.max(1, Math.floor(MAX_PARAMS / width));
      for (let i = 0; i < rows.length; i += per)
        await this.#dialect.upsert(trx, p.target.table, rows.slice(i, i + per), p.keyCols);
      return;
    }
    const per = Math.max(1, Math.floor(1000 / width));
    for (let i = 0; i < rows.length; i += per) {
      const chunk = rows.slice(i, i + per);
      const q = trx(p.target.table);
      if (p.keyCols.length === 1) {
        const k = p.keyCols[0]!;
        await q
          .whereIn(
            k,
            chunk.map((r) => r[k] as Knex.Value),
          )
          .del();
      } else
        await q
          .where((b) => {
            for (const r of chunk) void b.orWhere(r as Record<string, Knex.Value>);
          })
          .del();
    }
  }

  async #columnTypes(knex: Knex, t: TargetTable): Promise<Map<string, string>> {
    let types = this.#types.get(t.table);
    if (!types) {
      const q = t.schema ? knex.withSchema(t.schema).table(t.name) : knex.table(t.name);
      const info = (await q.columnInfo()) as unknown as Record<string, { type: string }>;
      types = new Map(Object.entries(info).map(([c, i]) => [c, i.type]));
      this.#types.set(t.table, types);
    }
    return types;
  }
}

/**
 * Whether the target refused an event because of its data (the kind: unique, check, ...), so it
 * goes to the dead-letter subject; null for anything a retry may cure (unreachable, deadlock).
 */
export function rejectionOf(dialect: SqlDialect): (err: unknown) => string | null {
  return (err) => {
    const kind = dialect.classifyError(err);
    return kind === null || kind === 'concurrency' ? null : kind;
  };
}

/** The column alias the target's commit time is read under (newerWins without `changedAt`). */
const COMMIT_TIME = 'sluice_commit_time';

/**
 * A target's time value as epoch ms: a Date, a number (already ms), or text (ISO, or a zone-less
 * `YYYY-MM-DD hh:mm:ss` read as UTC, which is how the sink's sessions run). null when absent.
 */
export function timeMs(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return null;
  let s = v.trim().replace(' ', 'T');
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) s += 'T00:00:00';
  if (/[+-]\d{2}$/.test(s)) s += ':00';
  else if (!/(Z|[+-]\d{2}:?\d{2})$/.test(s)) s += 'Z';
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? null : ms;
}

function sameRow(want: Row, have: Row): boolean {
  for (const c in want) if (!sameDbValue(want[c], have[c])) return false;
  return true;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
