// The initial snapshot, consistent with the slot: the slot is created with an exported snapshot,
// the tables are read inside that snapshot, and streaming starts at the slot's consistent point,
// so changes committed after it come from the stream and nothing is read twice or missed.
//
// An interrupted snapshot resumes by table and key range: a temporary slot exports a fresh
// snapshot (at LSN `at`), the remaining ranges are read there, and the stream then skips changes to
// those ranges committed before `at` (they are already in what was read). See PgOffset.resumed.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { SourceChange } from '../../src/core/change-event.js';
import { OffsetLostError } from '../../src/core/errors.js';
import { keysetSnapshot, type KeysetPage } from '../../src/core/keyset-snapshot.js';
import { resumedRanges, resumePoint, type ResumeStart } from '../../src/core/snapshot-resume.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { quoteIdent, slotInfo, type TableInfo } from './postgres-catalog.js';
import { classifyPgError } from './postgres-errors.js';
import type { PgOffset, SnapshotRange } from './postgres-offset.js';
import type { PgSession } from './postgres-session.js';

interface ExportedSlot {
  readonly consistentPoint: string;
  readonly snapshotName: string;
  readonly conn: pg.Client; // the snapshot lives while this replication connection is idle
}

async function createSlotWithSnapshot(s: PgSession, slot: string, temporary: boolean): Promise<ExportedSlot> {
  const conn = await s.connect(true);
  try {
    const version = Number((await conn.query('SHOW server_version_num')).rows[0]?.server_version_num ?? 0);
    const tmp = temporary ? ' TEMPORARY' : '';
    const sql =
      version >= 150000
        ? `CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${tmp} LOGICAL pgoutput (SNAPSHOT 'export')`
        : `CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${tmp} LOGICAL pgoutput EXPORT_SNAPSHOT`;
    const { rows } = await conn.query(sql);
    const r = rows[0] as { consistent_point: string; snapshot_name: string };
    return { consistentPoint: r.consistent_point, snapshotName: r.snapshot_name, conn };
  } catch (err) {
    await conn.end().catch(() => {});
    throw classifyPgError(err, `cannot create replication slot ${slot}`);
  }
}

/** Key values as they were published are decoded values; text forms are what we compare with in SQL. */
function toSqlText(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return v;
}

export async function* snapshot(
  s: PgSession,
  ctx: SourceContext,
  from: PgOffset | null,
): AsyncGenerator<ChangeBatch<PgOffset>> {
  const tables = [...s.tables.values()];
  const admin = await s.connect();
  let exported: ExportedSlot | null = null;
  let reader: pg.Client | null = null;
  try {
    let lsn: string;
    let position: string;
    let start: ResumeStart;
    let resumed: SnapshotRange[] | undefined;
    if (from?.snapshot) {
      if (!(await slotInfo(admin, s.slot)))
        throw new OffsetLostError(
          `replication slot ${s.slot} disappeared while its snapshot was unfinished; reset the source's offset to start again`,
        );
      lsn = from.lsn;
      position = from.snapshot.position;
      start = resumePoint(from.snapshot, ctx.lastPublished, tables, toSqlText);
      exported = await createSlotWithSnapshot(s, `${s.slot}_resume_${process.pid}`, true);
      resumed = resumedRanges(tables, from.resumed ?? [], start, exported.consistentPoint);
      ctx.log.info(
        { table: start.table, ordinal: start.ordinal, at: exported.consistentPoint },
        'resuming the interrupted snapshot',
      );
      // Record the new ranges before publishing a row read at the new snapshot: a crash after this
      // point must still know which changes those rows already contain.
      yield { changes: [], offset: { lsn, snapshot: { ...start, position }, resumed }, sync: true };
    } else {
      const existing = await slotInfo(admin, s.slot);
      if (existing) {
        // Nothing was committed for this source, so nothing was published from this slot: a
        // leftover of a run that stopped before its first checkpoint. Start clean.
        ctx.log.warn(
          { slot: s.slot },
          'dropping a replication slot left by a run that never committed an offset',
        );
        await admin.query('SELECT pg_drop_replication_slot($1)', [s.slot]);
      }
      exported = await createSlotWithSnapshot(s, s.slot, false);
      lsn = exported.consistentPoint;
      position = `snapshot@${lsn}`;
      start = { table: tables[0]?.qualified ?? '', after: null, ordinal: 0 };
      ctx.log.info(
        { slot: s.slot, consistentPoint: lsn, tables: tables.length },
        'created the slot; reading the tables in its snapshot',
      );
      // Checkpoint before publishing anything, so a crash from here on resumes instead of restarting.
      yield { changes: [], offset: { lsn, snapshot: { ...start, position } }, sync: true };
    }

    reader = await s.connect();
    await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await reader.query(`SET TRANSACTION SNAPSHOT '${exported.snapshotName}'`);

    let ordinal = start.ordinal;
    const tsMs = Date.now();
    let lastProgress = tsMs;
    // Rows of a table without a key are published under a content-derived Nats-Msg-Id (see
    // keylessId), and their pages are no resumable points: a crash re-reads the whole table,
    // and rows already published are absorbed by the stream's dedup instead of appearing twice.
    let seen: Map<string, number> | null = null;
    let current: TableInfo | null = null;
    const pg = reader;
    const steps = keysetSnapshot(
      tables,
      { table: start.table, after: start.after, chunk: 0 },
      (t, after) => readTable(s, pg, t, after),
      ctx.signal,
    );
    for await (const step of steps) {
      const t = step.table;
      if (step.kind === 'table-done') {
        // Committed before the next table starts, so a crash there never resumes in this one
        // (whose published-but-uncommitted rows would then be read again under the same ids).
        if (step.next)
          yield {
            changes: [],
            offset: {
              lsn,
              snapshot: { table: step.next.table, after: null, ordinal, position },
              ...(resumed ? { resumed } : {}),
            },
            sync: true,
          };
        continue;
      }
      if (t !== current) {
        current = t;
        seen = t.key.length === 0 ? new Map<string, number>() : null;
      }
      const changes: SourceChange[] = step.rows.map((row) => {
        const id = seen ? keylessId(position, t.qualified, row, seen) : { position, index: ordinal };
        ordinal++;
        return s.change({
          op: 'r',
          schema: t.schema,
          table: t.name,
          before: null,
          after: row,
          key: s.keyOf(t, row, []),
          tsMs,
          snapshot: 'true',
          position: id.position,
          index: id.index,
        });
      });
      if (Date.now() - lastProgress >= 5000) {
        lastProgress = Date.now();
        ctx.log.info({ table: t.qualified, rows: ordinal }, 'snapshot progress');
      }
      yield {
        changes,
        offset: seen
          ? null
          : {
              lsn,
              snapshot: {
                table: t.qualified,
                after: step.progress.after as unknown[] | null,
                ordinal,
                position,
              },
              ...(resumed ? { resumed } : {}),
            },
      };
    }
    if (ctx.signal.aborted) return;
    await reader.query('COMMIT');
    ctx.log.info({ rows: ordinal, tables: tables.length }, 'snapshot complete');
    yield { changes: [], offset: resumed && resumed.length > 0 ? { lsn, resumed } : { lsn }, sync: true };
  } catch (err) {
    throw classifyPgError(err, 'snapshot failed');
  } finally {
    await reader?.end().catch(() => {});
    await exported?.conn.end().catch(() => {});
    await admin.end().catch(() => {});
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

/** Keyset pages in key order (resumable); tables without a key are read through one cursor. */
export async function* readTable(
  s: PgSession,
  reader: pg.Client,
  t: TableInfo,
  after: readonly unknown[] | null,
): AsyncGenerator<KeysetPage<Record<string, unknown>>> {
  const cols = t.columns.map((c) => quoteIdent(c.name)).join(', ');
  const n = s.cfg.snapshotChunkSize;
  if (t.key.length === 0) {
    const cursor = `sluice_${t.name.replace(/[^a-z0-9_]/gi, '_')}`.slice(0, 60);
    await reader.query(`DECLARE ${quoteIdent(cursor)} NO SCROLL CURSOR FOR SELECT ${cols} FROM ${t.quoted}`);
    while (true) {
      const res = await reader.query({ text: `FETCH ${n} FROM ${quoteIdent(cursor)}` });
      if (res.rows.length === 0) break;
      await s.learnTypes(
        reader,
        res.fields.map((f) => f.dataTypeID),
      );
      yield { rows: decodeRows(s, res), lastKey: null };
    }
    await reader.query(`CLOSE ${quoteIdent(cursor)}`);
    return;
  }
  const keyList = t.key.map(quoteIdent).join(', ');
  const keyParams = t.key.map((_, i) => `$${i + 1}::${t.keyTypes[i]}`).join(', ');
  let cursorKey = after;
  while (true) {
    const where = cursorKey ? `WHERE (${keyList}) > (${keyParams})` : '';
    const res = await reader.query({
      text: `SELECT ${cols} FROM ${t.quoted} ${where} ORDER BY ${keyList} LIMIT ${n}`,
      values: cursorKey ? [...cursorKey] : [],
    });
    if (res.rows.length === 0) return;
    await s.learnTypes(
      reader,
      res.fields.map((f) => f.dataTypeID),
    );
    // The key as text, exactly as PostgreSQL printed it, so the next page's bound compares exactly.
    const last = res.rows[res.rows.length - 1] as Record<string, string | null>;
    cursorKey = t.key.map((k) => last[k] ?? null);
    yield { rows: decodeRows(s, res), lastKey: cursorKey };
    if (res.rows.length < n) return;
  }
}

function decodeRows(s: PgSession, res: pg.QueryResult): Record<string, unknown>[] {
  const decoders = res.fields.map((f) => ({ name: f.name, decode: s.types.decoder(f.dataTypeID) }));
  const out: Record<string, unknown>[] = new Array(res.rows.length);
  for (let i = 0; i < res.rows.length; i++) {
    const raw = res.rows[i] as Record<string, string | null>;
    const row: Record<string, unknown> = {};
    for (const d of decoders) {
      const v = raw[d.name];
      row[d.name] = v === null || v === undefined ? null : d.decode(v);
    }
    out[i] = row;
  }
  return out;
}
