// `mode: changeTracking`: each poll is one SNAPSHOT-isolation transaction that reads
// CHANGE_TRACKING_CURRENT_VERSION(), checks CHANGE_TRACKING_MIN_VALID_VERSION of every table
// against the committed version, and reads CHANGETABLE(CHANGES t, <version>) joined to the table,
// so each changed row is read as it is at the version the poll reaches (not as it is later).
// Change Tracking keeps net changes by key: no before image and no intermediate versions.
import { makeChange, type ChangeOrigin, type SourceChange } from '../../src/core/change-event.js';
import { BridgeError, OffsetLostError } from '../../src/core/errors.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { br } from '../../src/sql/quote.js';
import { quoted, type MssqlTable } from './mssql-catalog.js';
import { resnapshotHint } from './mssql-errors.js';
import type { CtOffset } from './mssql-offset.js';
import { text, type MssqlExecutor, type Row } from './mssql-session.js';
import { eventRow, eventValue, selectExpression } from './mssql-types.js';
import { sleep } from '../../src/util/sleep.js';

const keyAlias = (k: string) => br(`__$key_${k}`);

export function changesSelect(t: MssqlTable, from: string): string {
  const keys = t.key.map((k) => `ct.${br(k)} AS ${keyAlias(k)}`).join(', ');
  const join = t.key.map((k) => `t.${br(k)} = ct.${br(k)}`).join(' AND ');
  const cols = t.columns.map((c) => selectExpression(c, 't')).join(', ');
  return `SELECT CAST(ct.SYS_CHANGE_VERSION AS varchar(20)) AS [__$version], ct.SYS_CHANGE_OPERATION AS [__$operation], ${keys}, ${cols}
  FROM CHANGETABLE(CHANGES ${quoted(t)}, ${from}) AS ct LEFT JOIN ${quoted(t)} AS t ON ${join}
 WHERE ct.SYS_CHANGE_VERSION <= @cur ORDER BY ct.SYS_CHANGE_VERSION, ${t.key.map((k) => `ct.${br(k)}`).join(', ')}`;
}

export function pollBatch(tables: readonly MssqlTable[], from: string): string {
  if (!/^\d+$/.test(from)) throw new BridgeError(`not a Change Tracking version: ${from}`);
  const mins = tables
    .map(
      (t, i) =>
        `CAST(CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(N'${quoted(t).replace(/'/g, "''")}')) AS varchar(20)) AS [m${i}]`,
    )
    .join(', ');
  return [
    'SET TRANSACTION ISOLATION LEVEL SNAPSHOT',
    'BEGIN TRANSACTION',
    'DECLARE @cur bigint = CHANGE_TRACKING_CURRENT_VERSION()',
    `SELECT CAST(@cur AS varchar(20)) AS version${mins ? `, ${mins}` : ''}`,
    ...tables.map((t) => changesSelect(t, from)),
    'COMMIT TRANSACTION',
    'SET TRANSACTION ISOLATION LEVEL READ COMMITTED',
  ].join(';\n');
}

interface CtRow {
  readonly table: MssqlTable;
  readonly version: bigint;
  readonly row: Row;
}

/** The poll's result sets → events in version order (table order within a version), and the version reached. */
export function ctChanges(
  tables: readonly MssqlTable[],
  from: CtOffset,
  sets: readonly Row[][],
  origin: ChangeOrigin<'sqlserver'>,
  source: string,
): { changes: SourceChange[]; version: string } {
  const head = sets[0]?.[0] ?? {};
  const version = text(head.version) || null;
  if (version === null)
    throw new BridgeError(
      'CHANGE_TRACKING_CURRENT_VERSION() is NULL: Change Tracking is off for the database',
    );
  tables.forEach((t, i) => {
    const min = head[`m${i}`];
    if (min === null || min === undefined)
      throw new BridgeError(`Change Tracking is off for ${t.qualified} (its minimum valid version is NULL)`);
    if (BigInt(text(min)) > BigInt(from.version))
      throw new OffsetLostError(
        `the committed Change Tracking version ${from.version} of ${source} is below CHANGE_TRACKING_MIN_VALID_VERSION of ${t.qualified} (${text(min)}): changes were cleaned up before they were read; ${resnapshotHint(source)}`,
      );
  });
  const rows: CtRow[] = tables.flatMap((t, i) =>
    (sets[i + 1] ?? []).map((row) => ({ table: t, version: BigInt(text(row.__$version)), row })),
  );
  // Stable: rows of one version keep their table order.
  rows.sort((a, b) => (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
  const changes: SourceChange[] = [];
  for (const { table: t, version: v, row } of rows) {
    const op = text(row.__$operation);
    const key: Record<string, unknown> = {};
    for (const k of t.key)
      key[k] = eventValue(t.columns.find((c) => c.name === k)?.kind ?? 'plain', row[`__$key_${k}`]);
    const image =
      op === 'D' || row[t.key[0]!] === null || row[t.key[0]!] === undefined ? null : eventRow(t.columns, row);
    // A row inserted or updated and then deleted before this version is reported as D; an I/U
    // whose row is gone at the poll's version cannot happen inside one snapshot, but is skipped.
    if (op !== 'D' && image === null) continue;
    changes.push(
      makeChange(origin, {
        op: op === 'I' ? 'c' : op === 'U' ? 'u' : 'd',
        schema: t.schema,
        table: t.name,
        before: op === 'D' ? key : null,
        after: op === 'D' ? null : image,
        key,
        tsMs: Date.now(),
        snapshot: 'false',
        commit_lsn: null,
        change_lsn: null,
        event_serial_no: null,
        // Net changes are re-read from the committed version after a crash: a row's id names its
        // version and key, so a repeat is absorbed and a later change of the row is a new event.
        position: `ct:${v}:${t.qualified}:${JSON.stringify(Object.values(key))}`,
        index: 0,
      }),
    );
  }
  return { changes, version };
}

export interface CtStreamOptions {
  readonly db: MssqlExecutor;
  readonly origin: ChangeOrigin<'sqlserver'>;
  readonly source: string;
  readonly pollInterval: number;
  readonly maxRows: number;
  readonly tables: readonly MssqlTable[];
}

export async function* streamChangeTracking(
  o: CtStreamOptions,
  ctx: SourceContext,
  start: CtOffset,
): AsyncGenerator<ChangeBatch<CtOffset>> {
  let from = start;
  while (!ctx.signal.aborted) {
    const sets = await o.db.batch(pollBatch(o.tables, from.version));
    const { changes, version } = ctChanges(o.tables, from, sets, o.origin, o.source);
    const next: CtOffset = { mode: 'changeTracking', version };
    // Only the last chunk carries the offset: net changes have no resumable point inside a poll.
    for (let i = 0; i < changes.length; i += o.maxRows)
      yield {
        changes: changes.slice(i, i + o.maxRows),
        offset: i + o.maxRows >= changes.length ? next : null,
      };
    if (changes.length === 0 && BigInt(version) > BigInt(from.version)) yield { changes: [], offset: next };
    from = next;
    if (changes.length === 0) await sleep(o.pollInterval, ctx.signal);
  }
}
