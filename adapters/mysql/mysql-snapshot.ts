// The initial snapshot, consistent with the binlog position streaming starts from.
//
// Method (README "Snapshot"): on MariaDB, lock-free. `START TRANSACTION WITH CONSISTENT SNAPSHOT`
// opens an InnoDB read view, and in the same session `SHOW STATUS LIKE 'binlog_snapshot_%'` gives
// the binlog file and position of exactly that view (MariaDB keeps them in step with the group
// commit, so no transaction is half in the view and half after the position);
// `BINLOG_GTID_POS(file, pos)` turns it into the GTID position streaming resumes from. On MySQL
// (no binlog_snapshot_* variables), Debezium's short global read lock: FLUSH TABLES WITH READ
// LOCK, START TRANSACTION WITH CONSISTENT SNAPSHOT, read the position, UNLOCK TABLES (needs
// RELOAD; the lock is held for the three statements only).
//
// The tables are then read in key order inside that view; the stream starts at the position, so
// every change committed after it comes from the binlog and nothing is read twice or missed.
//
// An interrupted snapshot resumes by table and key range: a fresh consistent view (at point
// `at`) reads what is left, and the stream skips changes to those ranges committed before `at`
// (they are in what was read). See MysqlOffset.resumed.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import type { SourceChange } from '../../src/core/change-event.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { resumedRanges, resumePoint, type ResumeStart } from '../../src/core/snapshot-resume.js';
import { chunkQuery } from '../../src/sql/keyset.js';
import { bindable } from '../../src/sql/sql-values.js';
import { rawRows } from '../../src/sql/raw-rows.js';
import type { BinlogPoint, MysqlOffset, SnapshotRange } from './mysql-offset.js';
import type { MetaRow, MysqlSession, ServerFacts, TableInfo } from './mysql-session.js';
import { decodeRow } from './mysql-types.js';

interface ReadView {
  readonly trx: Knex.Transaction;
  readonly at: BinlogPoint;
}

/** Opens a consistent read view and returns the binlog point it corresponds to. */
export async function openReadView(s: MysqlSession, facts: ServerFacts): Promise<ReadView> {
  const knex = await s.knex();
  const trx = await knex.transaction();
  trx.executionPromise.catch(() => {});
  const one = async (sql: string, binds: unknown[] = []) =>
    rawRows(await trx.raw(sql, binds as Knex.RawBinding[])) as MetaRow[];
  try {
    // knex has sent BEGIN; characteristics cannot change inside a transaction.
    await trx.raw('COMMIT');
    await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    const status = await one(`SHOW STATUS LIKE 'binlog_snapshot_%'`);
    let at: BinlogPoint;
    if (status.length >= 2) {
      await trx.raw('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const v = new Map(
        (await one(`SHOW STATUS LIKE 'binlog_snapshot_%'`)).map((r) => [
          String(r.Variable_name).toLowerCase(),
          String(r.Value),
        ]),
      );
      const file = v.get('binlog_snapshot_file') ?? '';
      const pos = Number(v.get('binlog_snapshot_position') ?? 0);
      const [g] = facts.mariadb ? await one('SELECT BINLOG_GTID_POS(?, ?) AS g', [file, pos]) : [];
      at = { file, pos, ...(g?.g !== undefined && g.g !== null ? { gtid: String(g.g) } : {}) };
    } else {
      await trx.raw('FLUSH TABLES WITH READ LOCK');
      try {
        await trx.raw('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
        const [m] = await one('SHOW MASTER STATUS').catch(() => one('SHOW BINARY LOG STATUS'));
        const gtid = facts.gtids ? String(m?.Executed_Gtid_Set ?? '').replace(/\s/g, '') : undefined;
        at = {
          file: String(m?.File ?? ''),
          pos: Number(m?.Position ?? 0),
          ...(gtid !== undefined ? { gtid } : {}),
        };
      } finally {
        await trx.raw('UNLOCK TABLES');
      }
    }
    if (!at.file)
      throw new Error(
        'the server reports no binlog position (is log_bin on, and does the user have REPLICATION CLIENT?)',
      );
    return { trx, at };
  } catch (err) {
    await trx.rollback().catch(() => {});
    throw s.classify(err, 'cannot open a consistent snapshot');
  }
}

export async function* snapshot(
  s: MysqlSession,
  ctx: SourceContext,
  from: MysqlOffset | null,
): AsyncGenerator<ChangeBatch<MysqlOffset>> {
  const tables = [...s.tables.values()];
  const facts = await s.facts();
  const identity = {
    serverId: facts.serverId,
    ...(facts.serverUuid ? { serverUuid: facts.serverUuid } : {}),
  };
  let view: ReadView | null = null;
  try {
    let base: BinlogPoint;
    let position: string;
    let start: ResumeStart;
    let resumed: SnapshotRange[] | undefined;
    view = await openReadView(s, facts);
    if (from?.snapshot) {
      base = { file: from.file, pos: from.pos, ...(from.gtid !== undefined ? { gtid: from.gtid } : {}) };
      position = from.snapshot.position;
      start = resumePoint(from.snapshot, ctx.lastPublished, tables, bindable);
      resumed = resumedRanges(tables, from.resumed ?? [], start, view.at);
      ctx.log.info(
        { table: start.table, ordinal: start.ordinal, at: view.at },
        'resuming the interrupted snapshot',
      );
      // Record the new ranges before publishing a row read in the new view.
      yield {
        changes: [],
        offset: { ...base, ...identity, snapshot: { ...start, position }, resumed },
        sync: true,
      };
    } else {
      base = view.at;
      position = `snapshot@${view.at.file}:${view.at.pos}`;
      start = { table: tables[0]?.qualified ?? '', after: null, ordinal: 0 };
      ctx.log.info({ at: view.at, tables: tables.length }, 'reading the tables in a consistent snapshot');
      yield { changes: [], offset: { ...base, ...identity, snapshot: { ...start, position } }, sync: true };
    }
    const trx = view.trx;
    const offsetAt = (snap: NonNullable<MysqlOffset['snapshot']>): MysqlOffset => ({
      ...base,
      ...identity,
      snapshot: snap,
      ...(resumed ? { resumed } : {}),
    });

    let ordinal = start.ordinal;
    const tsMs = Date.now();
    let lastProgress = tsMs;
    const first = Math.max(
      0,
      tables.findIndex((t) => t.qualified === start.table),
    );
    for (let ti = first; ti < tables.length; ti++) {
      const t = tables[ti]!;
      let after = ti === first && t.key.length > 0 ? start.after : null;
      // Rows of a table without a key get content-derived ids (keylessId) and no resumable points:
      // a crash reads the whole table again and the stream's dedup absorbs what was published.
      const seen = t.key.length === 0 ? new Map<string, number>() : null;
      for await (const page of readTable(s, trx, t, after)) {
        if (ctx.signal.aborted) return;
        const changes: SourceChange[] = page.rows.map((raw) => {
          const zero: string[] = [];
          const row = decodeRow(t.decoders, raw, zero);
          const id = seen ? keylessId(position, t.qualified, row, seen) : { position, index: ordinal };
          ordinal++;
          return s.change({
            op: 'r',
            schema: t.schema,
            table: t.name,
            before: null,
            after: row,
            key: s.keyOf(t, row),
            tsMs,
            snapshot: 'true',
            file: view!.at.file,
            pos: view!.at.pos,
            row: 0,
            gtid: view!.at.gtid ?? null,
            server_id: facts.serverId,
            ...(zero.length > 0 ? { zero_dates: zero } : {}),
            position: id.position,
            index: id.index,
          });
        });
        after = page.lastKey;
        if (Date.now() - lastProgress >= 5000) {
          lastProgress = Date.now();
          ctx.log.info({ table: t.qualified, rows: ordinal }, 'snapshot progress');
        }
        yield { changes, offset: seen ? null : offsetAt({ table: t.qualified, after, ordinal, position }) };
      }
      // Committed before the next table starts, so a crash there never resumes in this one.
      const next = tables[ti + 1];
      if (next)
        yield {
          changes: [],
          offset: offsetAt({ table: next.qualified, after: null, ordinal, position }),
          sync: true,
        };
    }
    await trx.commit();
    ctx.log.info({ rows: ordinal, tables: tables.length }, 'snapshot complete');
    const done: MysqlOffset = { ...base, ...identity, ...(resumed && resumed.length > 0 ? { resumed } : {}) };
    yield { changes: [], offset: done, sync: true };
  } catch (err) {
    throw s.classify(err, 'snapshot failed');
  } finally {
    if (view && !view.trx.isCompleted()) await view.trx.rollback().catch(() => {});
  }
}

/**
 * A keyless row's Nats-Msg-Id: the snapshot, the table, a hash of the row and how many identical
 * rows came before it in this read. Reading the table again after a crash yields the same ids for
 * the same rows, so JetStream drops the repeats; a row that changed in between gets a new id.
 */
function keylessId(
  position: string,
  table: string,
  row: Record<string, unknown>,
  seen: Map<string, number>,
): { position: string; index: number } {
  const hash = createHash('sha1').update(JSON.stringify(row)).digest('hex').slice(0, 16);
  const n = seen.get(hash) ?? 0;
  seen.set(hash, n + 1);
  return { position: `${position}:${table}#${hash}`, index: n };
}

interface Page {
  rows: Record<string, unknown>[];
  lastKey: unknown[] | null;
}

/** Keyset pages in key order (resumable); tables without a key in pages of the view's scan order. */
async function* readTable(
  s: MysqlSession,
  trx: Knex.Transaction,
  t: TableInfo,
  after: unknown[] | null,
): AsyncGenerator<Page> {
  const n = s.cfg.snapshotChunkSize;
  if (t.key.length === 0) {
    for (let offset = 0; ; offset += n) {
      const rows = (await trx(t.qualified).select('*').limit(n).offset(offset)) as Record<string, unknown>[];
      if (rows.length === 0) return;
      yield { rows, lastKey: null };
      if (rows.length < n) return;
    }
  }
  let cursor = after;
  while (true) {
    const rows = (await chunkQuery(trx, t, cursor, n)) as Record<string, unknown>[];
    if (rows.length === 0) return;
    const last = rows[rows.length - 1]!;
    cursor = t.key.map((k) => bindable(last[k]));
    yield { rows, lastKey: cursor };
    if (rows.length < n) return;
  }
}
