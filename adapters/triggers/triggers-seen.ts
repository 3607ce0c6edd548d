// The first pass's read snapshot, and the changelog entries it already saw. The tables are read in
// one transaction whose snapshot is taken together with what of the changelog it sees; when the
// changelog is read afterwards, exactly those entries are skipped (their change is in the `r`
// rows already), so a row changed during the pass arrives once, not as `r` and again as `c`/`u`.
// How the view is opened and what it records is per database (`openReadView`, `captureSeen` of
// src/sql/<db>/<db>-triggers.ts); what is kept is a snapshot (PostgreSQL: an entry is skipped
// when `pg_visible_in_snapshot(txid, snapshot)`) or seq ranges (MySQL/MariaDB). Where there is no
// view (SQL Server, Oracle, SQLite outside WAL) the cursor moves to the end first (at-least-once).
import type { Scalar } from '../../src/sql/sql-offset.js';
import type { Seen } from './triggers-offset.js';

export { addToRanges } from '../../src/sql/trigger-ddl.js';

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
  // Every entry the snapshot holds has a seq at most `through`: past it, none can be in it.
  if (seen.through === undefined || last.length !== 1) return seen;
  return Number(last[0]) >= seen.through ? undefined : seen;
}
