// Streaming: LogMiner windows [lo, hi) one after another; each window's rows go through the
// transaction buffer, and the transactions whose COMMIT it held are published in commit order
// (commit SCN, redo thread, txId), each ending in a batch whose offset is resumable: its `scn` is
// the first SCN of the oldest transaction still unpublished, so a restart mines every row of it
// again, and its commit key says which transactions a restart skips.
import type { SourceChange } from '../../src/core/change-event.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { sleep } from '../../src/util/sleep.js';
import { OracleError } from './oracle-errors.js';
import { currentScn, mineWindow, OP, type RedoRow } from './oracle-logminer.js';
import { compareCommits, compareScn, isPublished, minScn, type OracleOffset } from './oracle-offset.js';
import { parseRedo, type RedoStatement, type RedoValue } from './oracle-redo-parser.js';
import { keyOf, type OracleSession, type TableInfo } from './oracle-session.js';
import { TransactionBuffer, type CommittedTransaction, type DmlEntry } from './oracle-transaction-buffer.js';
import { oracleColumn, redoValue } from './oracle-types.js';

const DML = new Set<number>([OP.INSERT, OP.UPDATE, OP.DELETE]);

export class LogMinerStream {
  readonly #buffer: TransactionBuffer;
  /** Long transactions already warned about, by XID (once per window is enough noise). */
  readonly #warned = new Map<string, number>();

  constructor(private readonly s: OracleSession) {
    this.#buffer = new TransactionBuffer(s.cfg.spillAfterRows);
  }

  async *run(ctx: SourceContext, from: OracleOffset): AsyncGenerator<ChangeBatch<OracleOffset>> {
    const s = this.s;
    let published: OracleOffset = {
      scn: from.scn,
      commitScn: from.commitScn,
      ...(from.last ? { last: from.last } : {}),
    };
    let lo = from.scn;
    try {
      while (!ctx.signal.aborted) {
        let now: string;
        try {
          now = await currentScn(s);
        } catch (err) {
          throw s.classify(err, 'cannot read the current SCN');
        }
        if (compareScn(now, lo) <= 0) {
          await sleep(s.cfg.pollInterval, ctx.signal);
          continue;
        }
        const cap = (BigInt(lo) + BigInt(s.cfg.miningWindow)).toString();
        const hi = minScn(now, cap);
        const committed = await this.#mine(ctx, lo, hi);
        committed.sort(compareCommits);
        for (let i = 0; i < committed.length; i++) {
          const tx = committed[i]!;
          if (isPublished(published, tx)) {
            await tx.discard();
            continue;
          }
          const later = committed.slice(i + 1).map((t) => t.startScn);
          const offset: OracleOffset = {
            scn: minScn(hi, ...this.#openStarts(), ...later),
            commitScn: tx.commitScn,
            last: { thread: tx.thread, txId: tx.txId },
          };
          yield* this.#publish(tx, offset);
          published = offset;
          if (ctx.signal.aborted) return;
        }
        const low = minScn(hi, ...this.#openStarts());
        if (low !== published.scn) {
          published = { ...published, scn: low };
          yield { changes: [], offset: published };
        }
        this.#warnLong(hi);
        lo = hi;
        if (hi === now) await sleep(s.cfg.pollInterval, ctx.signal);
      }
    } finally {
      await this.#buffer.clear();
    }
  }

  #openStarts(): string[] {
    return this.#buffer.open().map((t) => t.startScn);
  }

  /** Reads one window into the buffer; returns the transactions it committed. */
  async #mine(ctx: SourceContext, lo: string, hi: string): Promise<CommittedTransaction[]> {
    const s = this.s;
    const tables = [...s.tables.values()].map((t) => ({ owner: t.owner, name: t.name }));
    const committed: CommittedTransaction[] = [];
    const reload = new Set<string>();
    let cont: string[] = [];
    try {
      for await (const row of mineWindow(s, lo, hi, tables)) {
        if (ctx.signal.aborted) break;
        if (row.csf) {
          cont.push(row.sqlRedo ?? '');
          continue;
        }
        const sql = cont.length ? cont.join('') + (row.sqlRedo ?? '') : row.sqlRedo;
        cont = [];
        await this.#row(row, sql, committed, reload);
      }
    } catch (err) {
      throw s.classify(err, `cannot mine SCNs ${lo} to ${hi}`);
    }
    for (const q of reload) {
      s.log.info({ source: s.cfg.name, table: q }, 'DDL on a captured table: its columns are read again');
      await s.loadTable(q).catch((err: unknown) => {
        throw s.classify(err, `cannot read the columns of ${q}`);
      });
    }
    return committed;
  }

  async #row(
    row: RedoRow,
    sql: string | null,
    committed: CommittedTransaction[],
    reload: Set<string>,
  ): Promise<void> {
    const s = this.s;
    const q = row.owner && row.table ? `${row.owner}.${row.table}` : null;
    switch (row.operationCode) {
      case OP.START:
        this.#buffer.start(row.xid, row.thread, row.scn, row.timestamp);
        return;
      case OP.COMMIT: {
        const tx = await this.#buffer.commit(row.xid, row.thread, row.scn, row.timestamp);
        this.#warned.delete(row.xid);
        if (tx) committed.push(tx);
        return;
      }
      case OP.ROLLBACK: {
        const n = await this.#buffer.rollback(row.xid);
        this.#warned.delete(row.xid);
        if (n > 0)
          s.log.info(
            { source: s.cfg.name, txId: row.xid, rows: n },
            'transaction rolled back: its rows are dropped',
          );
        return;
      }
      case OP.DDL:
        if (q && s.tables.has(q)) reload.add(q);
        return;
      case OP.UNSUPPORTED:
        if (q && s.tables.has(q))
          throw new OracleError(
            `LogMiner cannot rebuild a change to ${q} at SCN ${row.scn} (operation UNSUPPORTED): check that the table has supplemental logging of ALL columns and no column type LogMiner does not support`,
          );
        return;
      case OP.MISSING_SCN:
        s.log.warn({ source: s.cfg.name, scn: row.scn }, 'LogMiner reports a missing SCN in the redo');
        return;
      default:
        break;
    }
    if (!DML.has(row.operationCode) || !q || !s.tables.has(q)) return;
    if (sql === null) throw new OracleError(`no SQL_REDO for a change to ${q} at SCN ${row.scn}`);
    const entry: DmlEntry = {
      scn: row.scn,
      owner: row.owner!,
      table: row.table!,
      sql,
      rsId: row.rsId,
      ssn: row.ssn,
      rowId: row.rowId,
    };
    await this.#buffer.add(row.xid, row.thread, entry, row.rollback, row.user, row.timestamp);
  }

  /** One committed transaction as batches of at most maxBatchRows; only the last one carries the offset. */
  async *#publish(tx: CommittedTransaction, offset: OracleOffset): AsyncGenerator<ChangeBatch<OracleOffset>> {
    const s = this.s;
    const position = `${tx.commitScn}-${tx.thread}-${tx.txId}`;
    const perTable = new Map<string, number>();
    let changes: SourceChange[] = [];
    let index = 0;
    try {
      for await (const e of tx.entries()) {
        const q = `${e.owner}.${e.table}`;
        const t = s.tables.get(q);
        if (!t) continue;
        const n = (perTable.get(q) ?? 0) + 1;
        perTable.set(q, n);
        // A full chunk goes out only once another row follows it: the last chunk carries the offset.
        if (changes.length >= s.cfg.maxBatchRows) {
          yield { changes, offset: null };
          changes = [];
        }
        changes.push(this.#change(t, tx, e, parseRedo(e.sql), position, index++, n));
      }
    } finally {
      await tx.discard();
    }
    yield { changes, offset };
  }

  #change(
    t: TableInfo,
    tx: CommittedTransaction,
    e: DmlEntry,
    stmt: RedoStatement,
    position: string,
    index: number,
    tableOrder: number,
  ): SourceChange {
    const unavailable: string[] = [];
    let before: Record<string, unknown> | null = null;
    let after: Record<string, unknown> | null = null;
    switch (stmt.op) {
      case 'insert':
        after = this.#image(t, stmt.values, unavailable, null);
        break;
      case 'update':
        before = this.#image(t, stmt.where, [], null);
        after = this.#image(t, stmt.values, unavailable, before);
        break;
      case 'delete':
        before = this.#image(t, stmt.where, [], null);
        break;
      default: {
        const never: never = stmt;
        throw new OracleError(`unknown statement ${JSON.stringify(never)}`);
      }
    }
    const op = stmt.op === 'insert' ? 'c' : stmt.op === 'update' ? 'u' : 'd';
    return this.s.change({
      op,
      schema: t.owner,
      table: t.name,
      before,
      after,
      key: keyOf(t, after ?? before ?? {}),
      tsMs: tx.commitTime?.getTime() ?? Date.now(),
      snapshot: 'false',
      unavailable,
      transaction: { id: tx.txId, total_order: index + 1, data_collection_order: tableOrder },
      position,
      index,
      scn: e.scn,
      commit_scn: tx.commitScn,
      txId: tx.txId,
      rs_id: e.rsId,
      ssn: e.ssn,
      redo_thread: tx.thread,
      user_name: tx.user,
    });
  }

  /**
   * A row image in column order. `base` (an update's before image) fills the columns the SET list
   * leaves unchanged; a column the redo does not carry (a LOB written by LOB_WRITE rows, a column
   * outside the statement) is left out and named in `unavailable`, never given a made-up value.
   */
  #image(
    t: TableInfo,
    values: ReadonlyMap<string, RedoValue>,
    unavailable: string[],
    base: Record<string, unknown> | null,
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const col of t.columns) {
      const v = values.get(col.name);
      const value = v === undefined ? undefined : redoValue(col, v);
      if (value !== undefined) out[col.name] = value;
      else if (base && col.name in base) out[col.name] = base[col.name];
      else unavailable.push(col.name);
    }
    for (const [name, v] of values) {
      if (t.byName.has(name)) continue;
      // A column the catalog no longer (or not yet) lists: kept as its redo text.
      const value = redoValue(oracleColumn(name, 'VARCHAR2', null, null), v);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  #warnLong(hi: string): void {
    const s = this.s;
    const newest = Date.now();
    for (const tx of this.#buffer.open()) {
      const age = tx.firstSeen ? newest - tx.firstSeen.getTime() : 0;
      if (age < s.cfg.longTransactionWarning) continue;
      const last = this.#warned.get(tx.xid);
      if (last !== undefined && newest - last < s.cfg.longTransactionWarning) continue;
      this.#warned.set(tx.xid, newest);
      s.log.warn(
        { source: s.cfg.name, txId: tx.xid, startScn: tx.startScn, rows: tx.size, ageMs: age, minedTo: hi },
        'a long-running transaction holds the restart SCN back: its redo (online and archived logs) must stay available until it ends',
      );
    }
  }
}
