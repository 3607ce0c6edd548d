// Reads the changelog in an order that is safe against commit order. The order and every query
// that differs per database come from the dialect's trigger capture (src/sql/<db>/<db>-triggers.ts,
// rules per database in README.md beside this file):
// - `seq` (PostgreSQL, MySQL/MariaDB, SQLite): the largest seq M is read, then a horizon mark;
//   once the horizon has passed the mark, every transaction that could hold a seq ≤ M has ended,
//   and (last, M] is handed on in seq order, which is commit order per key (src/sql/horizon.ts).
// - `rowversion` (SQL Server): rowversion below MIN_ACTIVE_ROWVERSION().
// - `rowscn` (Oracle): ORA_ROWSCN above the SCN taken before the previous scan, no upper cap (the
//   table is ROWDEPENDENCIES); entries may be read twice and are absorbed by their Nats-Msg-Id.
import type { Knex } from 'knex';
import type { Scalar } from '../../src/sql/sql-offset.js';
import { rawRows } from '../../src/sql/raw-rows.js';
import type { SqlSession } from '../../src/sql/sql-session.js';
import type { ChangelogName, ChangelogOrder, TriggerCapture } from '../../src/sql/trigger-ddl.js';
import type { Seen } from './triggers-offset.js';
import { TriggersError } from './triggers-errors.js';
import { inRanges, remainingSeen } from './triggers-seen.js';
import { toEntry, type ChangelogEntry, type ColumnTypes } from './triggers-types.js';

export interface ChangelogCursor {
  mode: 'changelog';
  last: Scalar[] | null;
  pending: { upTo: Scalar; mark: string } | null;
  /** Entries the first pass's snapshot already holds: skipped, not published (triggers-seen.ts). */
  seen?: Seen | undefined;
}

const COLS = ['seq', 'tbl', 'op', 'txid'];
const JSON_COLS = ['row_key', 'old_row', 'new_row'];

/** The next page of the changelog after `last` (compiled SQL checked for SQL Server and Oracle in unit tests). */
export function pageQuery(
  knex: Knex,
  capture: TriggerCapture,
  changelog: string,
  last: readonly Scalar[] | null,
  limit: number,
  upTo?: Scalar,
  seen?: Seen,
): Knex.QueryBuilder {
  const q = knex(changelog).select([...COLS, ...JSON_COLS.map((c) => capture.jsonText(knex, c))]);
  const order: ChangelogOrder = capture.order;
  switch (order) {
    case 'seq': {
      const seenColumn = seen ? capture.seenColumn(knex, seen) : null;
      if (seenColumn) q.select(seenColumn);
      q.where('seq', '<=', Number(upTo));
      if (last) q.where('seq', '>', Number(last[0]));
      return q.orderBy('seq').limit(limit);
    }
    case 'rowversion':
      q.select(knex.raw('CONVERT(bigint, rv) AS sluice_rv')).whereRaw('rv < MIN_ACTIVE_ROWVERSION()');
      if (last) q.whereRaw('rv > CONVERT(binary(8), CONVERT(bigint, ?))', [Number(last[0])]);
      return q.orderBy('rv').limit(limit);
    case 'rowscn': {
      // Commit order: ORA_ROWSCN of a ROWDEPENDENCIES row is its transaction's commit SCN. Only
      // rows below `upTo` (the SCN read before this page) are taken: every transaction that
      // commits later gets an SCN at or above it, so nothing can appear behind the cursor.
      q.select(knex.raw('ORA_ROWSCN AS "sluice_scn"')).whereRaw('ORA_ROWSCN < ?', [Number(upTo)]);
      if (last) {
        const [scn, seq] = [Number(last[0] ?? 0), Number(last[1] ?? 0)];
        q.where((w) => {
          w.whereRaw('ORA_ROWSCN > ?', [scn]).orWhere((x) => {
            x.whereRaw('ORA_ROWSCN = ?', [scn]).where('seq', '>', seq);
          });
        });
      }
      return q.orderByRaw('ORA_ROWSCN, "seq"').limit(limit);
    }
    default: {
      const never: never = order;
      throw new Error(`unknown changelog order ${String(never)}`);
    }
  }
}

/** Removes entries at or before `last` (everything published and committed). */
export function pruneQuery(
  knex: Knex,
  order: ChangelogOrder,
  changelog: string,
  last: readonly Scalar[],
): Knex.QueryBuilder {
  const q = knex(changelog);
  switch (order) {
    case 'seq':
      return q.where('seq', '<=', Number(last[0])).delete();
    case 'rowversion':
      return q.whereRaw('rv <= CONVERT(binary(8), CONVERT(bigint, ?))', [Number(last[0])]).delete();
    case 'rowscn': {
      const [scn, seq] = [Number(last[0] ?? 0), Number(last[1] ?? 0)];
      return q
        .where((w) => {
          w.whereRaw('ORA_ROWSCN < ?', [scn]).orWhere((x) => {
            x.whereRaw('ORA_ROWSCN = ?', [scn]).where('seq', '<=', seq);
          });
        })
        .delete();
    }
    default: {
      const never: never = order;
      throw new Error(`unknown changelog order ${String(never)}`);
    }
  }
}

/**
 * A `seq` cursor is one number. Earlier versions kept PostgreSQL's as [txid, seq]: the database's
 * capture adopts it (PostgreSQL deletes the entries it covers, all published, and reads the rest
 * from the start in seq order); where it cannot, the source stops with what to do.
 */
export async function adoptCursor(
  knex: Knex,
  capture: TriggerCapture,
  ref: string,
  c: ChangelogCursor,
): Promise<void> {
  if (!c.last || (c.last.length === 1 && typeof c.last[0] === 'number')) return;
  if (!capture.adoptCursor)
    throw new TriggersError(
      `the stored changelog cursor ${JSON.stringify(c.last)} is not a seq; delete the source's offset (its key in the offsets bucket) and run again for a new first pass`,
      { retriable: false },
    );
  c.last = await capture.adoptCursor(knex, ref, c.last);
  c.pending = null;
}

export class ChangelogReader {
  readonly capture: TriggerCapture;
  /** The changelog as knex names it (schema.table). */
  readonly ref: string;

  constructor(
    readonly s: SqlSession,
    readonly knex: Knex,
    /** The changelog as configured: its cursor's key in the offset and its Nats-Msg-Id prefix. */
    readonly key: string,
    readonly changelog: ChangelogName,
    readonly chunkSize: number,
    readonly types: ColumnTypes,
  ) {
    this.capture = s.dialect.triggers;
    this.ref = `${changelog.schema}.${changelog.name}`;
  }

  get order(): ChangelogOrder {
    return this.capture.order;
  }

  #entry(r: Record<string, unknown>, order: Scalar[]): ChangelogEntry {
    return toEntry(r, order, this.types, this.capture);
  }

  /**
   * One page of entries the bound allows after the cursor (updating it), or [] when there is
   * nothing more for now. `more` says another page may follow at once.
   */
  async page(c: ChangelogCursor): Promise<{ entries: ChangelogEntry[]; more: boolean }> {
    const { knex, ref } = this;
    const order = this.capture.order;
    if (order === 'seq') {
      await adoptCursor(knex, this.capture, ref, c);
      if (c.pending === null) {
        const q = knex(ref).max({ m: 'seq' });
        if (c.last) q.where('seq', '>', Number(c.last[0]));
        const m = ((await q.first()) as { m: unknown } | undefined)?.m;
        if (m === null || m === undefined) return { entries: [], more: false };
        // The mark is taken after M is read: a transaction that drew a seq ≤ M has begun by then.
        c.pending = { upTo: Number(m), mark: await this.s.horizon.mark() };
      }
      if (!(await this.s.horizon.passed(c.pending.mark, false))) return { entries: [], more: false };
      const seen = c.seen;
      const rows = await this.#pageRows(c, c.pending.upTo, seen);
      const entries = rows.map((r) => this.#entry(r, [Number(r.seq)]));
      const more = rows.length === this.chunkSize;
      if (entries.length > 0) c.last = entries[entries.length - 1]!.order;
      if (!more) {
        c.last = [Number(c.pending.upTo)];
        c.pending = null;
      }
      c.seen = remainingSeen(seen, c.last);
      return {
        entries: entries.filter(
          (e, i) =>
            rows[i]!.sluice_seen !== true &&
            !(seen && 'ranges' in seen && inRanges(seen.ranges, Number(e.seq))),
        ),
        more,
      };
    }
    // Oracle: the SCN before the page bounds it (pageQuery); each entry's own commit SCN orders it.
    const hi =
      order === 'rowscn'
        ? Number(rawRows(await knex.raw('SELECT current_scn AS "scn" FROM v$database'))[0]?.scn ?? 0)
        : undefined;
    const rows = await this.#pageRows(c, hi, undefined);
    const entries = rows.map((r) =>
      this.#entry(r, order === 'rowversion' ? [Number(r.sluice_rv)] : [Number(r.sluice_scn), Number(r.seq)]),
    );
    const more = rows.length === this.chunkSize;
    if (entries.length > 0) c.last = entries[entries.length - 1]!.order;
    return { entries, more };
  }

  #pageRows(c: ChangelogCursor, upTo?: Scalar, seen?: Seen): Promise<Record<string, unknown>[]> {
    const q = pageQuery(this.knex, this.capture, this.ref, c.last, this.chunkSize, upTo, seen);
    return q.then((rows) => rows as Record<string, unknown>[]);
  }

  /** Moves the cursor to the end of what the bound allows now, reading nothing out (a fresh start). */
  async skipToEnd(c: ChangelogCursor, signal: AbortSignal, pollInterval: number): Promise<void> {
    for (;;) {
      if (signal.aborted) return;
      const { entries, more } = await this.page(c);
      if (!more && entries.length === 0 && c.pending === null) return;
      if (!more && entries.length === 0) await new Promise((r) => setTimeout(r, Math.min(pollInterval, 200)));
    }
  }

  async prune(last: readonly Scalar[]): Promise<void> {
    await pruneQuery(this.knex, this.capture.order, this.ref, last);
  }
}
