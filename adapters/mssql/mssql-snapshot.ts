// The initial snapshot: one SNAPSHOT-isolation transaction in one batch that first reads where
// streaming will begin (CDC: sys.fn_cdc_get_max_lsn(); Change Tracking: the current version) and
// then every configured table in key order, so the rows and the position are one point in time.
// The batch streams; the driver is paused while a chunk is published. A snapshot that is cut off
// starts over (a SNAPSHOT transaction cannot be rejoined); rows read again at the same position get
// the same message ids, which the stream's duplicate window absorbs.
import { makeChange, type ChangeOrigin } from '../../src/core/change-event.js';
import { BridgeError } from '../../src/core/errors.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { br } from '../../src/sql/quote.js';
import { keyOf, quoted, type MssqlTable } from './mssql-catalog.js';
import { lsnHex, lsnText, MAX_SEQVAL, type MssqlOffset } from './mssql-offset.js';
import { text, type MssqlExecutor } from './mssql-session.js';
import { eventRow, selectExpression } from './mssql-types.js';

/** SELECT of every column of `t`, converted where the driver would lose digits, in key order. */
export function snapshotSelect(t: MssqlTable): string {
  const order = t.key.length > 0 ? ` ORDER BY ${t.key.map((k) => `t.${br(k)}`).join(', ')}` : '';
  return `SELECT ${t.columns.map((c) => selectExpression(c, 't')).join(', ')} FROM ${quoted(t)} AS t${order}`;
}

export function snapshotBatch(tables: readonly MssqlTable[], mode: 'cdc' | 'changeTracking'): string {
  const position =
    mode === 'cdc'
      ? 'SELECT sys.fn_cdc_get_max_lsn() AS max_lsn'
      : 'SELECT CAST(CHANGE_TRACKING_CURRENT_VERSION() AS varchar(20)) AS version';
  return [
    'SET TRANSACTION ISOLATION LEVEL SNAPSHOT',
    'BEGIN TRANSACTION',
    position,
    ...tables.map(snapshotSelect),
    'COMMIT TRANSACTION',
    'SET TRANSACTION ISOLATION LEVEL READ COMMITTED',
  ].join(';\n');
}

export async function* snapshot(
  db: MssqlExecutor,
  tables: readonly MssqlTable[],
  mode: 'cdc' | 'changeTracking',
  origin: ChangeOrigin<'sqlserver'>,
  chunkSize: number,
  ctx: SourceContext,
): AsyncGenerator<ChangeBatch<MssqlOffset>> {
  let offset: MssqlOffset | null = null;
  let commitLsn: string | null = null;
  let tag = '';
  let chunk: ReturnType<typeof makeChange>[] = [];
  const counts = new Map<number, number>();
  for await (const { set, row } of db.stream(snapshotBatch(tables, mode), chunkSize * 2, ctx.signal)) {
    if (set === 0) {
      if (mode === 'cdc') {
        if (row.max_lsn === null || row.max_lsn === undefined)
          throw new BridgeError(
            'sys.fn_cdc_get_max_lsn() is NULL: the SQL Server Agent is not running or CDC has captured nothing yet',
            { retriable: true },
          );
        const lsn = lsnHex(row.max_lsn);
        offset = { mode: 'cdc', lsn, seqval: MAX_SEQVAL, op: 4 };
        commitLsn = lsnText(lsn);
        tag = lsn;
      } else {
        offset = { mode: 'changeTracking', version: text(row.version) || '0' };
        tag = `v${offset.version}`;
      }
      continue;
    }
    const t = tables[set - 1];
    if (!t || offset === null) throw new BridgeError(`unexpected result set ${set} in the snapshot`);
    const n = (counts.get(set) ?? 0) + 1;
    counts.set(set, n);
    const after = eventRow(t.columns, row);
    chunk.push(
      makeChange(origin, {
        op: 'r',
        schema: t.schema,
        table: t.name,
        before: null,
        after,
        key: keyOf(t, after),
        tsMs: Date.now(),
        snapshot: 'true',
        commit_lsn: commitLsn,
        change_lsn: null,
        event_serial_no: null,
        position: `r:${tag}:${t.qualified}`,
        index: n,
      }),
    );
    if (chunk.length >= chunkSize) {
      yield { changes: chunk, offset: null };
      chunk = [];
    }
  }
  if (ctx.signal.aborted) return;
  if (offset === null) throw new BridgeError('the snapshot batch returned no position');
  yield { changes: chunk, offset, sync: true };
}
