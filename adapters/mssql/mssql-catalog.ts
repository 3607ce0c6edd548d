// What the adapter knows of the captured tables: columns with their types, primary key, and (CDC)
// the capture instances of each table with the LSN each starts at and the columns it captures.
import { br } from '../../src/sql/quote.js';
import { lsnHex, type LsnHex } from './mssql-offset.js';
import type { MssqlExecutor, Row } from './mssql-session.js';
import { kindOf, type ColumnInfo, type ValueKind } from './mssql-types.js';

export interface Column extends ColumnInfo {
  readonly kind: ValueKind;
}

/** A capture instance: `cdc.fn_cdc_get_all_changes_<name>` reads it from `startLsn` on. */
export interface CaptureInstance {
  readonly name: string;
  readonly startLsn: LsnHex;
  /** The columns the change table holds (not the source table's: a column added later is absent). */
  readonly columns: readonly Column[];
}

export interface MssqlTable {
  readonly schema: string;
  readonly name: string;
  /** schema.name */
  readonly qualified: string;
  readonly objectId: number;
  readonly columns: readonly Column[];
  readonly key: readonly string[];
  readonly trackedByCdc: boolean;
  /** Oldest first; at most two (SQL Server's limit). */
  readonly captures: readonly CaptureInstance[];
}

/** `[schema].[name]` */
export const quoted = (t: Pick<MssqlTable, 'schema' | 'name'>) => `${br(t.schema)}.${br(t.name)}`;

const globRegex = (glob: string) =>
  new RegExp(
    `^${glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
    'i',
  );

/** The configured patterns (`dbo.*` globs expanded) against the database's user tables. */
export function matchTables(
  patterns: readonly string[],
  tables: readonly { schema: string; name: string }[],
): { found: string[]; missing: string[] } {
  const found: string[] = [];
  const missing: string[] = [];
  for (const p of patterns) {
    const dot = p.indexOf('.');
    const s = globRegex(p.slice(0, dot));
    const n = globRegex(p.slice(dot + 1));
    const hits = tables.filter((t) => s.test(t.schema) && n.test(t.name));
    if (hits.length === 0) missing.push(p);
    for (const t of hits) {
      const q = `${t.schema}.${t.name}`;
      if (!found.includes(q)) found.push(q);
    }
  }
  return { found, missing };
}

export const USER_TABLES_SQL = `SELECT s.name AS [schema], t.name AS [name], t.object_id AS object_id, t.is_tracked_by_cdc AS cdc
  FROM sys.tables t JOIN sys.schemas s ON s.schema_id = t.schema_id
 WHERE t.is_ms_shipped = 0 AND s.name <> 'cdc' ORDER BY s.name, t.name`;

const columnsSql = (
  ids: readonly number[],
) => `SELECT c.object_id AS object_id, c.name AS name, TYPE_NAME(c.system_type_id) AS type, c.scale AS scale
  FROM sys.columns c WHERE c.object_id IN (${ids.join(', ')}) AND c.name NOT LIKE '[_][_]$%' ORDER BY c.object_id, c.column_id;
SELECT ic.object_id AS object_id, c.name AS name FROM sys.indexes i
  JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id
  JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id
 WHERE i.is_primary_key = 1 AND i.object_id IN (${ids.join(', ')}) ORDER BY ic.object_id, ic.key_ordinal`;

const CAPTURES_SQL = `SELECT ct.source_object_id AS source_object_id, ct.capture_instance AS capture_instance,
       ct.start_lsn AS start_lsn, ct.object_id AS ct_object_id
  FROM cdc.change_tables ct ORDER BY ct.source_object_id, ct.start_lsn`;

function toColumns(rows: readonly Row[], objectId: number): Column[] {
  return rows
    .filter((r) => Number(r.object_id) === objectId)
    .map((r) => ({
      name: String(r.name),
      type: String(r.type),
      scale: Number(r.scale ?? 0),
      kind: kindOf(String(r.type)),
    }));
}

/** Loads the configured tables; `cdc` also loads their capture instances. */
export async function loadTables(
  db: MssqlExecutor,
  patterns: readonly string[],
  cdc: boolean,
): Promise<{ tables: MssqlTable[]; missing: string[] }> {
  const [all = []] = await db.batch(USER_TABLES_SQL);
  const { found, missing } = matchTables(
    patterns,
    all.map((r) => ({ schema: String(r.schema), name: String(r.name) })),
  );
  if (found.length === 0) return { tables: [], missing };
  const picked = found.map((q) => all.find((r) => `${String(r.schema)}.${String(r.name)}` === q)!);
  const captures = cdc ? ((await db.batch(CAPTURES_SQL))[0] ?? []) : [];
  const ids = [
    ...picked.map((r) => Number(r.object_id)),
    ...captures.map((r) => Number(r.ct_object_id)),
  ].filter((n) => Number.isSafeInteger(n));
  const [cols = [], keys = []] = await db.batch(columnsSql(ids));
  const tables = picked.map((r): MssqlTable => {
    const objectId = Number(r.object_id);
    const schema = String(r.schema);
    const name = String(r.name);
    return {
      schema,
      name,
      qualified: `${schema}.${name}`,
      objectId,
      columns: toColumns(cols, objectId),
      key: keys.filter((k) => Number(k.object_id) === objectId).map((k) => String(k.name)),
      trackedByCdc: r.cdc === true || r.cdc === 1,
      captures: captures
        .filter((c) => Number(c.source_object_id) === objectId)
        .map((c) => ({
          name: String(c.capture_instance),
          startLsn: lsnHex(c.start_lsn),
          columns: toColumns(cols, Number(c.ct_object_id)),
        })),
    };
  });
  return { tables, missing };
}

/** The key of a row image, in key order (all columns where the table has no primary key). */
export function keyOf(t: MssqlTable, image: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const names = t.key.length > 0 ? t.key : t.columns.map((c) => c.name);
  const key: Record<string, unknown> = {};
  for (const n of names) key[n] = image[n];
  return key;
}

/** `cdc.[fn_cdc_get_all_changes_<ci>]`, quoted whatever characters the capture instance name has. */
export function captureFunction(ci: string): string {
  return `cdc.${br(`fn_cdc_get_all_changes_${ci}`)}`;
}
