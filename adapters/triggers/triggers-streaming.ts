// Reads the changelog in an order that is safe against commit order, per database:
// - PostgreSQL: (txid xid8, seq) below pg_snapshot_xmin(pg_current_snapshot()): every
//   transaction with a smaller xid has ended, so nothing can appear behind the cursor.
// - SQL Server: rowversion below MIN_ACTIVE_ROWVERSION().
// - Oracle: ORA_ROWSCN above the SCN taken before the previous scan, no upper cap (the table is
//   ROWDEPENDENCIES); entries may be read twice and are absorbed by their Nats-Msg-Id.
// - MySQL/MariaDB, SQLite: seq, handed on only once the visibility horizon has passed the poll
//   that saw it (src/sql/horizon.ts).
import type { Knex } from 'knex';
import type { Scalar } from '../../src/sql/sql-offset.js';
import type { Seen } from './triggers-offset.js';
import { rawRows } from '../../src/sql/raw-rows.js';
import type { SqlSession } from '../../src/sql/sql-session.js';
import { inRanges, remainingSeen } from './triggers-seen.js';
import { toEntry, type ChangelogEntry } from './triggers-types.js';

export type Strategy = 'xid8' | 'rowversion' | 'rowscn' | 'seq';

export interface ChangelogCursor {
  mode: 'changelog';
  last: Scalar[] | null;
  pending: { upTo: Scalar; mark: string } | null;
  /** Entries the first pass's snapshot already holds: skipped, not published (triggers-seen.ts). */
  seen?: Seen | undefined;
}

export function strategyFor(dialect: string): Strategy {
  if (dialect === 'postgres') return 'xid8';
  if (dialect === 'mssql') return 'rowversion';
  if (dialect === 'oracle') return 'rowscn';
  return 'seq';
}

const COLS = ['seq', 'tbl', 'op', 'row_key', 'old_row', 'new_row'];

/** The next page of the changelog after `last` (compiled SQL checked for SQL Server and Oracle in unit tests). */
export function pageQuery(
  knex: Knex,
  strategy: Strategy,
  changelog: string,
  last: readonly Scalar[] | null,
  limit: number,
  upTo?: Scalar,
  seenSnapshot?: string,
): Knex.QueryBuilder {
  const q = knex(changelog);
  switch (strategy) {
    case 'xid8':
      q.select([...COLS, knex.raw('txid::text AS txid')]);
      if (seenSnapshot !== undefined)
        q.select(knex.raw('pg_visible_in_snapshot(txid, ?::pg_snapshot) AS sluice_seen', [seenSnapshot]));
      q.whereRaw('txid < pg_snapshot_xmin(pg_current_snapshot())');
      if (last) q.whereRaw('(txid, seq) > (?::xid8, ?)', [String(last[0]), Number(last[1])]);
      // Qualified: a bare `txid` in ORDER BY is the text alias above, and '1000' < '999' as text.
      return q.orderBy([`${changelog}.txid`, `${changelog}.seq`]).limit(limit);
    case 'rowversion':
      q.select([...COLS, 'txid', knex.raw('CONVERT(bigint, rv) AS sluice_rv')]).whereRaw(
        'rv < MIN_ACTIVE_ROWVERSION()',
      );
      if (last) q.whereRaw('rv > CONVERT(binary(8), CONVERT(bigint, ?))', [Number(last[0])]);
      return q.orderBy('rv').limit(limit);
    case 'rowscn':
      q.select([...COLS, 'txid']).whereRaw('ORA_ROWSCN > ?', [Number(last?.[0] ?? 0)]);
      if (last?.[1] !== undefined && last[1] !== null) q.where('seq', '>', Number(last[1]));
      return q.orderBy('seq').limit(limit);
    case 'seq':
      q.select([...COLS, 'txid']).where('seq', '<=', Number(upTo));
      if (last) q.where('seq', '>', Number(last[0]));
      return q.orderBy('seq').limit(limit);
    default: {
      const never: never = strategy;
      throw new Error(`unknown strategy ${String(never)}`);
    }
  }
}

/**
 * Moves the cursor to the last entry of a transaction below `snapshot`'s xmin (the current
 * snapshot's when absent): every such transaction has ended, and each entry is visible in it.
 */
export async function lastEntryBelowXmin(
  knex: Knex,
  changelog: string,
  c: ChangelogCursor,
  snapshot?: string,
): Promise<void> {
  const xmin = snapshot === undefined ? 'pg_current_snapshot()' : '?::pg_snapshot';
  const r = rawRows(
    await knex.raw(
      // cl.txid, not the text alias: as text '999' sorts after '1000'.
      `SELECT cl.txid::text AS txid, cl.seq FROM ?? AS cl WHERE cl.txid < pg_snapshot_xmin(${xmin}) ORDER BY cl.txid DESC, cl.seq DESC LIMIT 1`,
      snapshot === undefined ? [changelog] : [changelog, snapshot],
    ),
  )[0];
  if (r) c.last = [String(r.txid), Number(r.seq)];
}

/** Removes entries at or before `last` (everything published and committed). */
export function pruneQuery(
  knex: Knex,
  strategy: Strategy,
  changelog: string,
  last: readonly Scalar[],
): Knex.QueryBuilder {
  const q = knex(changelog);
  switch (strategy) {
    case 'xid8':
      return q.whereRaw('(txid, seq) <= (?::xid8, ?)', [String(last[0]), Number(last[1])]).delete();
    case 'rowversion':
      return q.whereRaw('rv <= CONVERT(binary(8), CONVERT(bigint, ?))', [Number(last[0])]).delete();
    case 'rowscn':
      return q.where('seq', '<=', Number(last[1] ?? 0)).delete();
    case 'seq':
      return q.where('seq', '<=', Number(last[0])).delete();
    default: {
      const never: never = strategy;
      throw new Error(`unknown strategy ${String(never)}`);
    }
  }
}

export class ChangelogReader {
  readonly strategy: Strategy;

  constructor(
    readonly s: SqlSession,
    readonly knex: Knex,
    readonly changelog: string,
    readonly chunkSize: number,
  ) {
    this.strategy = strategyFor(s.dialect.name);
  }

  /**
   * One page of entries the bound allows after the cursor (updating it), or [] when there is
   * nothing more for now. `more` says another page may follow at once.
   */
  async page(c: ChangelogCursor): Promise<{ entries: ChangelogEntry[]; more: boolean }> {
    const { knex, strategy, changelog } = this;
    if (strategy === 'seq') {
      if (c.pending === null) {
        const q = knex(changelog).max({ m: 'seq' });
        if (c.last) q.where('seq', '>', Number(c.last[0]));
        const m = ((await q.first()) as { m: unknown } | undefined)?.m;
        if (m === null || m === undefined) return { entries: [], more: false };
        c.pending = { upTo: Number(m), mark: await this.s.horizon.mark() };
      }
      if (!(await this.s.horizon.passed(c.pending.mark, false))) return { entries: [], more: false };
      const rows = await this.#pageRows(c, c.pending.upTo);
      const entries = rows.map((r) => toEntry(r, [Number(r.seq)]));
      const more = rows.length === this.chunkSize;
      if (entries.length > 0) c.last = entries[entries.length - 1]!.order;
      if (!more) {
        c.last = [Number(c.pending.upTo)];
        c.pending = null;
      }
      const seen = c.seen;
      c.seen = remainingSeen(seen, c.last);
      return {
        entries:
          seen && 'ranges' in seen ? entries.filter((e) => !inRanges(seen.ranges, Number(e.seq))) : entries,
        more,
      };
    }
    let hi: number | null = null;
    if (strategy === 'rowscn')
      hi = Number(rawRows(await knex.raw('SELECT current_scn AS "scn" FROM v$database'))[0]?.scn ?? 0);
    const rows = await this.#pageRows(
      c,
      undefined,
      c.seen && 'snapshot' in c.seen ? c.seen.snapshot : undefined,
    );
    const entries = rows.map((r) => {
      const order: Scalar[] =
        strategy === 'xid8'
          ? [String(r.txid), Number(r.seq)]
          : strategy === 'rowversion'
            ? [Number(r.sluice_rv)]
            : [Number(c.last?.[0] ?? 0), Number(r.seq)];
      return toEntry(r, order);
    });
    const more = rows.length === this.chunkSize;
    if (entries.length > 0) c.last = entries[entries.length - 1]!.order;
    if (strategy === 'rowscn' && !more) c.last = [hi, c.last?.[1] ?? null];
    c.seen = remainingSeen(c.seen, c.last);
    // Entries the first pass's snapshot saw are passed over (the cursor moves past them).
    return { entries: entries.filter((_, i) => rows[i]!.sluice_seen !== true), more };
  }

  #pageRows(c: ChangelogCursor, upTo?: Scalar, seenSnapshot?: string): Promise<Record<string, unknown>[]> {
    const q = pageQuery(this.knex, this.strategy, this.changelog, c.last, this.chunkSize, upTo, seenSnapshot);
    return q.then((rows) => rows as Record<string, unknown>[]);
  }

  /** Moves the cursor to the end of what the bound allows now, reading nothing out (a fresh start). */
  async skipToEnd(c: ChangelogCursor, signal: AbortSignal, pollInterval: number): Promise<void> {
    const { knex, changelog } = this;
    switch (this.strategy) {
      case 'xid8':
        await lastEntryBelowXmin(knex, changelog, c);
        return;
      default:
        for (;;) {
          if (signal.aborted) return;
          const { entries, more } = await this.page(c);
          if (!more && entries.length === 0 && c.pending === null) return;
          if (!more && entries.length === 0)
            await new Promise((r) => setTimeout(r, Math.min(pollInterval, 200)));
        }
    }
  }

  async prune(last: readonly Scalar[]): Promise<void> {
    await pruneQuery(this.knex, this.strategy, this.changelog, last);
  }
}
