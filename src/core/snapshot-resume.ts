// Resuming an interrupted snapshot by table and key range, for sources whose stream can tell which
// changes committed before a point: the snapshot picks up where it stopped in a fresh consistent
// view (at point `at`), and the stream then skips the changes to the ranges read there that
// committed before `at` (they are already in what was read). The point type is the source's own
// (an LSN, a binlog position); how a key is compared with a range bound is asked of the database.
import type { SourceChange } from './change-event.js';
import type { KeysetTable } from './keyset-snapshot.js';
import type { SourceContext } from './source-adapter.js';
import { plainChange } from './encoded-change.js';

/** Rows of `table` with a key after `after` (null: from the start) up to and including `upTo` (null: to the end) were read at `at`. */
export interface ResumedRange<P> {
  readonly table: string;
  readonly after: unknown[] | null;
  readonly upTo: unknown[] | null;
  readonly at: P;
}

/** Where a snapshot stands in its offset: the table, the last key read there, the rows read, its id prefix. */
export interface SnapshotProgress {
  readonly table: string;
  readonly after: readonly unknown[] | null;
  readonly ordinal: number;
  readonly position: string;
}

export interface ResumeStart {
  readonly table: string;
  readonly after: unknown[] | null;
  readonly ordinal: number;
}

/**
 * Where to pick up an interrupted snapshot: the committed progress, or later when the stream
 * already holds rows of this snapshot past it (published, crash before the commit). `bound` turns
 * a published key value (decoded) back into what the database compares with.
 */
export function resumePoint(
  from: SnapshotProgress,
  lastPublished: SourceContext['lastPublished'],
  tables: readonly KeysetTable[],
  bound: (value: unknown) => unknown,
): ResumeStart {
  const point = { table: from.table, after: from.after ? [...from.after] : null, ordinal: from.ordinal };
  const last = lastPublished;
  if (!last || last.position !== from.position || last.index < from.ordinal) return point;
  const ev = last.event as { source?: { schema?: string; table?: string } } | undefined;
  const qualified = `${ev?.source?.schema}.${ev?.source?.table}`;
  const t = tables.find((x) => x.qualified === qualified);
  if (!t || t.key.length === 0) return point;
  const key = last.key as Record<string, unknown>;
  return { table: qualified, after: t.key.map((k) => bound(key[k])), ordinal: last.index + 1 };
}

/**
 * The ranges read after the offset's point once a resume starts at `start` in a view at `at`:
 * earlier resumes' ranges stay for the tables already finished; the current table's earlier
 * ranges end where this resume starts; the rest is read now, at `at`.
 */
export function resumedRanges<P>(
  tables: readonly KeysetTable[],
  previous: readonly ResumedRange<P>[],
  start: { readonly table: string; readonly after: unknown[] | null },
  at: P,
): ResumedRange<P>[] {
  const idx = Math.max(
    0,
    tables.findIndex((t) => t.qualified === start.table),
  );
  const done = new Set(tables.slice(0, idx).map((t) => t.qualified));
  const out: ResumedRange<P>[] = previous.filter((r) => done.has(r.table));
  const current = tables[idx];
  if (current && current.key.length > 0 && start.after) {
    // Earlier ranges of this table that began before the new start now end at it.
    for (const r of previous)
      if (r.table === current.qualified) out.push(r.upTo === null ? { ...r, upTo: start.after } : r);
    out.push({ table: current.qualified, after: start.after, upTo: null, at });
  } else if (current) {
    out.push({ table: current.qualified, after: null, upTo: null, at });
  }
  for (const t of tables.slice(idx + 1)) out.push({ table: t.qualified, after: null, upTo: null, at });
  return out;
}

/** What the stream asks of its source to judge one change against resumed ranges. */
export interface ResumeJudge<P> {
  /** True when the change's transaction committed before `at` (so a range read at `at` holds it). */
  readonly committedBefore: (at: P) => boolean;
  /** The captured table (its key columns), or undefined when it is not captured. */
  readonly table: (qualified: string) => KeysetTable | undefined;
  /** A key value of a change as the database compares it with a range bound. */
  readonly keyValue: (value: unknown) => unknown;
  /** True when `key` lies in one of `ranges` (all of one table), compared by the database. */
  readonly inRanges: (ranges: readonly ResumedRange<P>[], key: readonly unknown[]) => Promise<boolean>;
  /** The `Sluice-Key` of a row (for the delete of a key change's old key). */
  readonly keyOf: (table: KeysetTable, row: Record<string, unknown>) => Record<string, unknown>;
}

/** True while some range still waits for the stream to pass its `at` (false: the ranges can be dropped). */
export function rangesPending<P>(
  ranges: readonly ResumedRange<P>[],
  committedBefore: (at: P) => boolean,
): boolean {
  return ranges.some((r) => committedBefore(r.at));
}

/**
 * The part of `c` that no resumed range already holds: `c` itself, nothing, or (for a key change)
 * only its delete or only its insert.
 *
 * Why this is exact: the consumer's copy of a key k is the row read for k at the snapshot S(k)
 * whose range covers k (the first snapshot, or a resumed range's `at`), and then every change to k
 * committed after S(k). So a change's effect on k is sent iff its commit is not before S(k). An
 * update that moves a row from key `old` to key `new` affects two keys, which may lie in ranges
 * read at different snapshots, so each is judged separately: both read, nothing; none read, the
 * update; only the new key read, a delete of the old key (the new row is in the snapshot); only
 * the old key read, an insert of the new key (the old one was never published, or was published
 * as a different row the update must not touch).
 */
export async function notYetRead<P>(
  ranges: readonly ResumedRange<P>[],
  c: SourceChange,
  judge: ResumeJudge<P>,
): Promise<SourceChange | null> {
  const src = c.event.source;
  const qualified = `${src.schema}.${src.table}`;
  const candidates = ranges.filter((r) => r.table === qualified && judge.committedBefore(r.at));
  if (candidates.length === 0) return c;
  if (candidates.some((r) => r.after === null && r.upTo === null)) return null;
  const t = judge.table(qualified);
  if (!t || t.key.length === 0) return null;
  const key = t.key.map((k) => judge.keyValue(c.key[k]));
  const read = await judge.inRanges(candidates, key);
  const before = c.event.op === 'u' ? c.event.before : null;
  const oldKey =
    before && t.key.every((k) => before[k] !== undefined)
      ? t.key.map((k) => judge.keyValue(before[k]))
      : null;
  if (!before || !oldKey || JSON.stringify(oldKey) === JSON.stringify(key)) return read ? null : c;
  const oldRead = await judge.inRanges(candidates, oldKey);
  if (read === oldRead) return read ? null : c;
  // A plain copy first: an EncodedChange's event and key are getters, which a spread would drop.
  const p = plainChange(c);
  if (read) return { ...p, key: judge.keyOf(t, before), event: { ...p.event, op: 'd', after: null } };
  return { ...p, event: { ...p.event, op: 'c', before: null } };
}
