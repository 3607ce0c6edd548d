// The first pass's read snapshot, and the changelog entries it already saw. The tables are read in
// one transaction whose snapshot is taken together with what of the changelog it sees; when the
// changelog is read afterwards, exactly those entries are skipped (their change is in the `r`
// rows already), so a row changed during the pass arrives once, not as `r` and again as `c`/`u`.
// - PostgreSQL: REPEATABLE READ; the snapshot itself is kept (`pg_current_snapshot()::text`) and
//   an entry is skipped when `pg_visible_in_snapshot(txid, snapshot)`.
// - MySQL/MariaDB: REPEATABLE READ (InnoDB); the seqs visible above the cursor are kept as ranges.
//   A seq is drawn at insert, not at commit: a missing seq below the visible max may still commit,
//   and is then read, not skipped.
// - SQLite (WAL): one writer at a time, so the snapshot sees every seq up to its max and none
//   above: the cursor simply starts at that max. In rollback-journal mode a long read would block
//   the application's writers, so the pass reads chunk by chunk as before (at-least-once).
// - SQL Server, Oracle: not done (null view): the cursor moves to the end first (at-least-once).
import type { Knex } from 'knex';
import type { Scalar } from '../../src/sql/sql-offset.js';
import type { Seen } from './triggers-offset.js';
import { rawRows } from '../../src/sql/raw-rows.js';
import { lastEntryBelowXmin, strategyFor, type ChangelogCursor } from './triggers-streaming.js';

/** A read-only transaction holding the pass's snapshot, or null where the database gets none. */
export async function openReadView(knex: Knex, dialect: string): Promise<Knex.Transaction | null> {
  let trx: Knex.Transaction;
  switch (dialect) {
    case 'postgres':
      trx = await knex.transaction({ isolationLevel: 'repeatable read', readOnly: true });
      break;
    case 'mysql':
      trx = await knex.transaction();
      break;
    case 'sqlite': {
      const mode = rawRows(await knex.raw('PRAGMA journal_mode'))[0]?.journal_mode;
      if (String(mode).toLowerCase() !== 'wal') return null;
      trx = await knex.transaction();
      break;
    }
    default:
      return null;
  }
  // Without a handler knex leaves the outcome to us; a failed query is thrown where it is awaited.
  trx.executionPromise.catch(() => {});
  if (dialect === 'mysql') {
    // knex has sent BEGIN (its READ ONLY lacks the comma MySQL wants); characteristics cannot
    // change inside a transaction, so end that empty one and start the one we want.
    await trx.raw('COMMIT');
    await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await trx.raw('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  }
  return trx;
}

/**
 * Inside the view, before any table is read: records in `c` what of the changelog the view holds
 * (moving the cursor over what it holds entirely).
 */
export async function captureSeen(
  trx: Knex.Transaction,
  dialect: string,
  changelog: string,
  c: ChangelogCursor,
): Promise<void> {
  const strategy = strategyFor(dialect);
  switch (strategy) {
    case 'xid8': {
      const snapshot = rawRows(await trx.raw('SELECT pg_current_snapshot()::text AS s'))[0]?.s;
      if (typeof snapshot !== 'string') throw new Error('pg_current_snapshot() returned no text');
      // Every entry of a transaction below the snapshot's xmin is visible in it: start after them.
      await lastEntryBelowXmin(trx, changelog, c, snapshot);
      c.seen = { snapshot };
      return;
    }
    case 'seq': {
      if (dialect === 'sqlite') {
        const m = rawRows(await trx.raw('SELECT MAX(seq) AS m FROM ??', [changelog]))[0]?.m;
        if (m !== null && m !== undefined && Number(m) > Number(c.last?.[0] ?? 0)) c.last = [Number(m)];
        return;
      }
      const ranges: [number, number][] = [];
      let after = Number(c.last?.[0] ?? 0);
      for (;;) {
        const rows = (await trx(changelog)
          .select('seq')
          .where('seq', '>', after)
          .orderBy('seq')
          .limit(10_000)) as { seq: unknown }[];
        for (const r of rows) addToRanges(ranges, Number(r.seq));
        if (rows.length < 10_000) break;
        after = Number(rows[rows.length - 1]!.seq);
      }
      if (ranges.length > 0) c.seen = { ranges };
      return;
    }
    case 'rowversion':
    case 'rowscn':
      return;
    default: {
      const never: never = strategy;
      throw new Error(`unknown strategy ${String(never)}`);
    }
  }
}

/** Appends a seq (given in ascending order) to inclusive ranges. */
export function addToRanges(ranges: [number, number][], seq: number): void {
  const last = ranges[ranges.length - 1];
  if (last && seq === last[1] + 1) last[1] = seq;
  else if (!last || seq > last[1]) ranges.push([seq, seq]);
}

/** Whether `seq` lies in one of the ranges (binary search). */
export function inRanges(ranges: readonly (readonly [number, number])[], seq: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid]!;
    if (seq < r[0]) hi = mid - 1;
    else if (seq > r[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** What is left of `seen` once the cursor is at `last` (undefined when nothing ahead can be in it). */
export function remainingSeen(seen: Seen | undefined, last: readonly Scalar[] | null): Seen | undefined {
  if (!seen || !last) return seen;
  if ('ranges' in seen) {
    const at = Number(last[0]);
    const ranges = seen.ranges.filter((r) => r[1] > at);
    return ranges.length === 0 ? undefined : ranges.length === seen.ranges.length ? seen : { ranges };
  }
  // xid8 order: once the cursor is at the snapshot's xmax, no later entry can be visible in it.
  const xmax = seen.snapshot.split(':')[1];
  if (xmax === undefined || !/^\d+$/.test(xmax) || !/^\d+$/.test(String(last[0]))) return seen;
  return BigInt(String(last[0])) >= BigInt(xmax) ? undefined : seen;
}
