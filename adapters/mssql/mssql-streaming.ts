// CDC streaming: every poll reads one window [from, to] of commit LSNs from the capture instance
// of each table (`fn_cdc_get_all_changes_<ci>(..., N'all update old')`, one result set each, in one
// batch) and merges them on (commit LSN, seqval, operation), so changes of all tables come out in
// commit order. `from` is the committed offset's commit LSN, not incremented: a transaction cut
// off mid-way is read again and the changes at or before the offset are skipped. The window ends
// at sys.fn_cdc_get_max_lsn() or after maxTransactionsPerPoll commits, whichever comes first.
// A table with two capture instances (a schema change) is read from the old one up to the new
// one's start_lsn and from the new one after it.
import { makeChange, type ChangeOrigin, type SourceChange } from '../../src/core/change-event.js';
import { OffsetLostError } from '../../src/core/errors.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { captureFunction, keyOf, type CaptureInstance, type MssqlTable } from './mssql-catalog.js';
import { resnapshotHint } from './mssql-errors.js';
import {
  compareCdc,
  compareLsn,
  lsnHex,
  lsnLiteral,
  lsnText,
  MAX_SEQVAL,
  type CdcOffset,
  type LsnHex,
} from './mssql-offset.js';
import type { MssqlExecutor, Row } from './mssql-session.js';
import { sleep } from '../../src/util/sleep.js';
import { eventRow, selectExpression } from './mssql-types.js';

/** One row of a change table, decoded. */
export interface CdcRow {
  readonly table: MssqlTable;
  readonly capture: CaptureInstance;
  readonly lsn: LsnHex;
  readonly seqval: LsnHex;
  readonly op: number;
  readonly image: Record<string, unknown>;
}

/** What one poll learns of the server before reading changes. */
export interface WindowFacts {
  readonly maxLsn: LsnHex | null;
  /** The window's end bounded by maxTransactionsPerPoll (null: no commit after `from`). */
  readonly nthLsn: LsnHex | null;
  /** Commit time of `from` (null when cleanup removed its lsn_time_mapping row). */
  readonly fromTime: Date | null;
  readonly instances: ReadonlyMap<string, { minLsn: LsnHex; created: Date | null }>;
}

export function factsBatch(from: LsnHex, maxTransactions: number): string {
  const f = lsnLiteral(from);
  return `SELECT sys.fn_cdc_get_max_lsn() AS max_lsn, sys.fn_cdc_map_lsn_to_time(${f}) AS from_time,
  (SELECT MAX(x.start_lsn) FROM (SELECT TOP (${maxTransactions}) m.start_lsn FROM cdc.lsn_time_mapping m WHERE m.start_lsn > ${f} ORDER BY m.start_lsn) x) AS nth_lsn;
SELECT ct.capture_instance AS capture_instance, sys.fn_cdc_get_min_lsn(ct.capture_instance) AS min_lsn, ct.create_date AS create_date FROM cdc.change_tables ct`;
}

export function readFacts(sets: Row[][]): WindowFacts {
  const [[f = {}] = [], cis = []] = sets;
  const opt = (v: unknown) => (v === null || v === undefined ? null : lsnHex(v));
  return {
    maxLsn: opt(f.max_lsn),
    nthLsn: opt(f.nth_lsn),
    fromTime: f.from_time instanceof Date ? f.from_time : null,
    instances: new Map(
      cis.map((r) => [
        String(r.capture_instance),
        { minLsn: lsnHex(r.min_lsn), created: r.create_date instanceof Date ? r.create_date : null },
      ]),
    ),
  };
}

/**
 * OFFSET_LOST when cleanup deleted changes not yet read: a capture instance that existed when
 * `from` was committed no longer reaches back to it. (An instance created later, for a schema
 * change or a newly captured table, starts after `from` by nature.)
 */
export function checkNotLost(
  tables: readonly MssqlTable[],
  from: CdcOffset,
  facts: WindowFacts,
  source: string,
): void {
  for (const t of tables) {
    const oldest = t.captures[0];
    if (!oldest) continue;
    const ci = facts.instances.get(oldest.name);
    if (!ci) continue;
    if (compareLsn(from.lsn, ci.minLsn) >= 0) continue;
    const existedBefore = facts.fromTime === null || ci.created === null || ci.created <= facts.fromTime;
    if (existedBefore)
      throw new OffsetLostError(
        `the committed offset ${lsnText(from.lsn)} of ${source} is below sys.fn_cdc_get_min_lsn('${oldest.name}') = ${lsnText(ci.minLsn)}: the CDC cleanup job deleted changes that were never read (raise its retention with sys.sp_cdc_change_job @job_type = N'cleanup', @retention = <minutes>); ${resnapshotHint(source)}`,
      );
  }
}

/**
 * OFFSET_LOST when a capture instance was dropped before it was read up to where its successor
 * starts (sp_cdc_disable_table on the old instance too early, after a schema change).
 */
export function checkNoneDropped(
  before: readonly MssqlTable[],
  after: readonly MssqlTable[],
  from: CdcOffset,
  facts: WindowFacts,
  source: string,
): void {
  for (const old of before)
    for (const ci of old.captures) {
      if (facts.instances.has(ci.name)) continue;
      const successor = after
        .find((t) => t.qualified === old.qualified)
        ?.captures.find((c) => compareLsn(c.startLsn, ci.startLsn) > 0);
      if (!successor || compareLsn(from.lsn, successor.startLsn) < 0)
        throw new OffsetLostError(
          `capture instance ${ci.name} of ${old.qualified} was dropped before ${source} read it up to ${successor ? lsnText(successor.startLsn) : 'a successor'}: its unread changes are gone (drop an old capture instance only after the source has passed the new one's start_lsn); ${resnapshotHint(source)}`,
        );
    }
}

/** One SELECT per capture instance over [from, to] (narrowed to what the instance covers), plus the commit times. */
export function changesBatch(
  tables: readonly MssqlTable[],
  from: LsnHex,
  to: LsnHex,
  facts: WindowFacts,
): { sql: string; sources: { table: MssqlTable; capture: CaptureInstance }[] } {
  const parts: string[] = [];
  const sources: { table: MssqlTable; capture: CaptureInstance }[] = [];
  for (const t of tables)
    t.captures.forEach((ci, i) => {
      const next = t.captures[i + 1];
      const min = facts.instances.get(ci.name)?.minLsn ?? ci.startLsn;
      const lo = compareLsn(from, min) >= 0 ? from : min;
      if (compareLsn(lo, to) > 0) return; // nothing of this instance in the window (and no error 313)
      if (next && compareLsn(lo, next.startLsn) >= 0) return; // the newer instance covers the window
      const cols = ci.columns.map((c) => selectExpression(c, 'c')).join(', ');
      const until = next ? ` WHERE c.[__$start_lsn] < ${lsnLiteral(next.startLsn)}` : '';
      parts.push(
        `SELECT c.[__$start_lsn] AS [__$start_lsn], c.[__$seqval] AS [__$seqval], c.[__$operation] AS [__$operation]${cols ? `, ${cols}` : ''} FROM ${captureFunction(ci.name)}(${lsnLiteral(lo)}, ${lsnLiteral(to)}, N'all update old') AS c${until} ORDER BY 1, 2, 3`,
      );
      sources.push({ table: t, capture: ci });
    });
  parts.push(
    `SELECT m.start_lsn AS start_lsn, m.tran_end_time AS tran_end_time FROM cdc.lsn_time_mapping m WHERE m.start_lsn BETWEEN ${lsnLiteral(from)} AND ${lsnLiteral(to)}`,
  );
  return { sql: parts.join(';\n'), sources };
}

/** k-way merge of per-instance result sets (each already in (lsn, seqval, op) order). */
export function mergeChanges(
  sources: readonly { table: MssqlTable; capture: CaptureInstance }[],
  sets: readonly Row[][],
): CdcRow[] {
  const lists = sources.map(({ table, capture }, i) =>
    (sets[i] ?? []).map((r): CdcRow => ({
      table,
      capture,
      lsn: lsnHex(r.__$start_lsn),
      seqval: lsnHex(r.__$seqval),
      op: Number(r.__$operation),
      image: eventRow(capture.columns, r),
    })),
  );
  const at = lists.map(() => 0);
  const out: CdcRow[] = [];
  for (;;) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const r = lists[i]![at[i]!];
      if (r && (best < 0 || compareCdc(r, lists[best]![at[best]!]!) < 0)) best = i;
    }
    if (best < 0) return out;
    out.push(lists[best]![at[best]!++]!);
  }
}

/**
 * Merged rows after `from` → events: 1 → d, 2 → c, 3 + 4 → u (3 is the before image of the 4
 * that follows it in the same instance). Batches end at commit boundaries, or every `maxRows`
 * inside a large transaction (offset at its last change: a restart skips up to it).
 */
export function* toBatches(
  rows: readonly CdcRow[],
  from: CdcOffset,
  commitTimes: ReadonlyMap<LsnHex, number>,
  origin: ChangeOrigin<'sqlserver'>,
  maxRows: number,
): Generator<ChangeBatch<CdcOffset>> {
  let changes: SourceChange[] = [];
  let txn: LsnHex | null = null;
  let order = 0;
  const perTable = new Map<string, number>();
  const serial = new Map<string, number>();
  let pendingBefore: CdcRow | null = null;
  const flush = (offset: CdcOffset) => {
    const b = { changes, offset };
    changes = [];
    return b;
  };
  for (const r of rows) {
    if (txn !== null && r.lsn !== txn) yield flush({ mode: 'cdc', lsn: txn, seqval: MAX_SEQVAL, op: 4 });
    if (r.lsn !== txn) {
      txn = r.lsn;
      order = 0;
      perTable.clear();
      serial.clear();
    }
    if (r.op === 3) {
      pendingBefore = r;
      continue;
    }
    const before =
      r.op === 4 && pendingBefore && pendingBefore.capture === r.capture && pendingBefore.seqval === r.seqval
        ? pendingBefore.image
        : r.op === 1
          ? r.image
          : null;
    pendingBefore = null;
    // Orders and serial numbers count the changes a resumed read skips, so they come out the same.
    const t = r.table;
    const total = ++order;
    const tableOrder = (perTable.get(t.qualified) ?? 0) + 1;
    perTable.set(t.qualified, tableOrder);
    const serialKey = `${t.qualified}:${r.seqval}`;
    const serialNo = (serial.get(serialKey) ?? 0) + 1;
    serial.set(serialKey, serialNo);
    if (compareCdc(r, from) <= 0) continue;
    const after = r.op === 1 ? null : r.image;
    changes.push(
      makeChange(origin, {
        op: r.op === 1 ? 'd' : r.op === 2 ? 'c' : 'u',
        schema: t.schema,
        table: t.name,
        before,
        after,
        key: keyOf(t, (after ?? before)!),
        tsMs: commitTimes.get(r.lsn) ?? Date.now(),
        snapshot: 'false',
        commit_lsn: lsnText(r.lsn),
        change_lsn: lsnText(r.seqval),
        event_serial_no: serialNo,
        transaction: { id: lsnText(r.lsn), total_order: total, data_collection_order: tableOrder },
        position: `${r.lsn}:${r.seqval}:${r.op}`,
        index: serialNo - 1,
      }),
    );
    if (changes.length >= maxRows) yield flush({ mode: 'cdc', lsn: r.lsn, seqval: r.seqval, op: r.op });
  }
  if (txn !== null) yield flush({ mode: 'cdc', lsn: txn, seqval: MAX_SEQVAL, op: 4 });
}

export interface CdcStreamOptions {
  readonly db: MssqlExecutor;
  readonly origin: ChangeOrigin<'sqlserver'>;
  readonly source: string;
  readonly pollInterval: number;
  readonly maxTransactions: number;
  readonly maxRows: number;
  /** The tables as loaded now; called again with `reload` when the set of capture instances changed. */
  tables(reload: boolean): Promise<readonly MssqlTable[]>;
}

export async function* streamCdc(
  o: CdcStreamOptions,
  ctx: SourceContext,
  start: CdcOffset,
): AsyncGenerator<ChangeBatch<CdcOffset>> {
  let from = start;
  let tables = await o.tables(false);
  while (!ctx.signal.aborted) {
    const facts = readFacts(await o.db.batch(factsBatch(from.lsn, o.maxTransactions)));
    const known = new Set(tables.flatMap((t) => t.captures.map((c) => c.name)));
    const now = [...facts.instances.keys()];
    if (now.length !== known.size || now.some((n) => !known.has(n))) {
      // A capture instance was added (schema change) or dropped: read the catalog again.
      const before = tables;
      tables = await o.tables(true);
      checkNoneDropped(before, tables, from, facts, o.source);
    }
    checkNotLost(tables, from, facts, o.source);
    const max = facts.maxLsn;
    const to =
      facts.nthLsn !== null && max !== null && compareLsn(facts.nthLsn, max) < 0 ? facts.nthLsn : max;
    const finished = from.seqval === MAX_SEQVAL && from.op === 4;
    if (to === null || compareLsn(to, from.lsn) < 0 || (compareLsn(to, from.lsn) === 0 && finished)) {
      await sleep(o.pollInterval, ctx.signal);
      continue;
    }
    const { sql, sources } = changesBatch(tables, from.lsn, to, facts);
    const sets = await o.db.batch(sql);
    const times = new Map<LsnHex, number>();
    for (const r of sets[sources.length] ?? [])
      if (r.tran_end_time instanceof Date) times.set(lsnHex(r.start_lsn), r.tran_end_time.getTime());
    const rows = mergeChanges(sources, sets);
    let moved = false;
    for (const b of toBatches(rows, from, times, o.origin, o.maxRows)) {
      if (ctx.signal.aborted) return;
      yield b;
      if (b.offset) from = b.offset;
      moved = true;
    }
    // Every commit up to `to` is read (the capture job writes whole transactions).
    const end: CdcOffset = { mode: 'cdc', lsn: to, seqval: MAX_SEQVAL, op: 4 };
    if (compareCdc(end, from) > 0) {
      from = end;
      yield { changes: [], offset: end };
      moved = true;
    }
    if (!moved || to === max) await sleep(o.pollInterval, ctx.signal);
  }
}
