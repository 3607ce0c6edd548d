// SQL Server catalog → TableInfo for `sluice init`: INFORMATION_SCHEMA for tables and columns,
// sys.* for what INFORMATION_SCHEMA does not say (identity and computed columns, the primary key's
// column order, foreign keys by column position). Tables are named `schema.table` as stored.
import type { Knex } from 'knex';
import { isSluiceTable, type ColumnInfo, type Introspector, type TableInfo } from '../introspector.js';

/** Rows as tedious hands them to knex: column names as the SELECT list spells them. */
interface ColumnRow {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  IS_NULLABLE: string;
  CHARACTER_MAXIMUM_LENGTH: number | null;
  NUMERIC_SCALE: number | null;
  is_identity: boolean;
  is_computed: boolean;
}

export const listTablesSql = `SELECT t.TABLE_SCHEMA, t.TABLE_NAME
FROM INFORMATION_SCHEMA.TABLES t
WHERE t.TABLE_TYPE = 'BASE TABLE' AND t.TABLE_SCHEMA <> 'cdc'
  AND OBJECTPROPERTY(OBJECT_ID(QUOTENAME(t.TABLE_SCHEMA) + '.' + QUOTENAME(t.TABLE_NAME)), 'IsMSShipped') = 0
ORDER BY t.TABLE_SCHEMA, t.TABLE_NAME`;

export const columnsSql = `SELECT c.COLUMN_NAME, c.DATA_TYPE, c.IS_NULLABLE, c.CHARACTER_MAXIMUM_LENGTH, c.NUMERIC_SCALE,
  sc.is_identity, sc.is_computed
FROM INFORMATION_SCHEMA.COLUMNS c
JOIN sys.columns sc ON sc.object_id = OBJECT_ID(QUOTENAME(c.TABLE_SCHEMA) + '.' + QUOTENAME(c.TABLE_NAME))
  AND sc.name = c.COLUMN_NAME
WHERE c.TABLE_SCHEMA = ? AND c.TABLE_NAME = ?
ORDER BY c.ORDINAL_POSITION`;

export const primaryKeySql = `SELECT col.name
FROM sys.key_constraints k
JOIN sys.index_columns ic ON ic.object_id = k.parent_object_id AND ic.index_id = k.unique_index_id
JOIN sys.columns col ON col.object_id = ic.object_id AND col.column_id = ic.column_id
WHERE k.type = 'PK' AND k.parent_object_id = OBJECT_ID(QUOTENAME(?) + '.' + QUOTENAME(?))
ORDER BY ic.key_ordinal`;

export const foreignKeysSql = `SELECT fk.name AS fk_name, pc.name AS column_name,
  OBJECT_SCHEMA_NAME(fk.referenced_object_id) AS ref_schema, OBJECT_NAME(fk.referenced_object_id) AS ref_table,
  rc.name AS ref_column
FROM sys.foreign_keys fk
JOIN sys.foreign_key_columns fkc ON fkc.constraint_object_id = fk.object_id
JOIN sys.columns pc ON pc.object_id = fkc.parent_object_id AND pc.column_id = fkc.parent_column_id
JOIN sys.columns rc ON rc.object_id = fkc.referenced_object_id AND rc.column_id = fkc.referenced_column_id
WHERE fk.parent_object_id = OBJECT_ID(QUOTENAME(?) + '.' + QUOTENAME(?))
ORDER BY fk.name, fkc.constraint_column_id`;

function split(table: string): [string, string] {
  const dot = table.indexOf('.');
  return dot > 0 ? [table.slice(0, dot), table.slice(dot + 1)] : ['dbo', table];
}

/** SQL Server type names → the names src/resources/starter-config.ts picks codecs from. */
export function mssqlType(dataType: string): string {
  const t = dataType.toLowerCase();
  switch (t) {
    case 'bit':
      return 'boolean';
    case 'smallmoney':
      return 'money';
    case 'datetime2':
    case 'smalldatetime':
      return 'datetime';
    case 'uniqueidentifier':
      return 'uuid';
    // INFORMATION_SCHEMA calls rowversion `timestamp`; it is a binary counter, not a time.
    case 'timestamp':
      return 'rowversion';
    default:
      return t;
  }
}

function column(c: ColumnRow): ColumnInfo {
  const type = mssqlType(c.DATA_TYPE);
  return {
    name: c.COLUMN_NAME,
    type,
    nullable: c.IS_NULLABLE === 'YES',
    // -1 is (max): no declared limit.
    length:
      c.CHARACTER_MAXIMUM_LENGTH === null || c.CHARACTER_MAXIMUM_LENGTH < 0
        ? undefined
        : c.CHARACTER_MAXIMUM_LENGTH,
    scale: c.NUMERIC_SCALE ?? undefined,
    // The server fills identity, computed and rowversion columns; an INSERT may not name them.
    generated: c.is_identity || c.is_computed || type === 'rowversion',
  };
}

export const mssqlIntrospector: Introspector = {
  async listTables(knex) {
    const rows = await knex.raw<{ TABLE_SCHEMA: string; TABLE_NAME: string }[]>(listTablesSql);
    return rows.map((r) => `${r.TABLE_SCHEMA}.${r.TABLE_NAME}`).filter((t) => !isSluiceTable(t));
  },

  async describe(knex: Knex, table: string): Promise<TableInfo> {
    const [schema, name] = split(table);
    const cols = await knex.raw<ColumnRow[]>(columnsSql, [schema, name]);
    const pk = await knex.raw<{ name: string }[]>(primaryKeySql, [schema, name]);
    const fkRows = await knex.raw<
      { fk_name: string; column_name: string; ref_schema: string; ref_table: string; ref_column: string }[]
    >(foreignKeysSql, [schema, name]);
    const fks = new Map<string, { columns: string[]; refTable: string; refColumns: string[] }>();
    for (const f of fkRows) {
      let fk = fks.get(f.fk_name);
      if (!fk)
        fks.set(
          f.fk_name,
          (fk = { columns: [], refTable: `${f.ref_schema}.${f.ref_table}`, refColumns: [] }),
        );
      fk.columns.push(f.column_name);
      fk.refColumns.push(f.ref_column);
    }
    return {
      name: `${schema}.${name}`,
      columns: cols.map(column),
      primaryKey: pk.map((r) => r.name),
      foreignKeys: [...fks.values()],
    };
  },
};
