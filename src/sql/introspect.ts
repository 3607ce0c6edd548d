// Introspects a database for `sluice init`: the chosen tables, plus a few values of one-letter
// and CHAR(8) columns so the starter config can suggest `yn` and `yyyymmdd`.
import type { ApiDatabase } from './database.js';
import { BridgeError } from '../core/errors.js';
import type { ColumnInfo, TableInfo } from './introspector.js';

export class IntrospectionUnsupportedError extends BridgeError {
  override readonly code = 'INTROSPECTION_UNSUPPORTED';
}

export interface Introspection {
  readonly tables: TableInfo[];
  readonly samples: Map<string, Map<string, (string | null)[]>>;
}

/** `wanted` names match a table exactly or by its unqualified name. */
export async function introspect(db: ApiDatabase, wanted?: readonly string[]): Promise<Introspection> {
  if (!db.dialect.introspector)
    throw new IntrospectionUnsupportedError(`sluice init cannot read ${db.dialect.name} databases yet`);
  const intro = await db.dialect.introspector();
  const all = await intro.listTables(db.knex);
  const chosen = wanted?.length ? all.filter((t) => wanted.some((w) => t === w || t.endsWith(`.${w}`))) : all;
  const missing = (wanted ?? []).filter((w) => !all.some((t) => t === w || t.endsWith(`.${w}`)));
  if (missing.length > 0)
    throw new IntrospectionUnsupportedError(
      `no such table: ${missing.join(', ')} (found: ${all.join(', ') || 'none'})`,
    );
  const tables: TableInfo[] = [];
  const samples = new Map<string, Map<string, (string | null)[]>>();
  for (const name of chosen) {
    const t = await intro.describe(db.knex, name);
    tables.push(t);
    const cols = new Map<string, (string | null)[]>();
    for (const c of t.columns) {
      if (!/char|text/.test(c.type) || (c.length !== 1 && c.length !== 8)) continue;
      const rows = await db.knex(t.name).distinct<Record<string, string | null>[]>(c.name).limit(5);
      cols.set(
        c.name,
        rows.map((r) => r[c.name] ?? null),
      );
    }
    samples.set(t.name, cols);
  }
  return { tables, samples };
}

/**
 * The columns of one table (config spelling: `table` or `schema.table`), by name, as the REST
 * service reads them once at start; undefined when this database has no introspector or the
 * table is not found (the config alone then says what is nullable).
 */
export async function tableColumns(
  db: ApiDatabase,
  table: string,
): Promise<ReadonlyMap<string, ColumnInfo> | undefined> {
  if (!db.dialect.introspector) return undefined;
  const intro = await db.dialect.introspector();
  const dot = table.indexOf('.');
  const name = dot > 0 ? db.dialect.introspectName(table.slice(0, dot), table.slice(dot + 1)) : table;
  const info = await intro.describe(db.knex, name);
  if (info.columns.length === 0) return undefined;
  return new Map(info.columns.map((c) => [c.name, c]));
}
