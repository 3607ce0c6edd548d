// Oracle data dictionary → TableInfo for `sluice init`: ALL_TABLES, ALL_TAB_COLS, ALL_CONSTRAINTS
// and ALL_CONS_COLUMNS, as the connecting user sees them (needs Oracle 12.1+, as Thin mode does,
// for ALL_USERS.ORACLE_MAINTAINED and ALL_TAB_COLS.IDENTITY_COLUMN).
//
// Identifier case: Oracle stores unquoted names upper-case, and knex's Oracle client quotes every
// identifier, so init writes owners, tables and columns exactly as stored (`APP.CUSTMAST`,
// `CUST_NO`); only the API names are camelCased (`custNo`).
import type { Knex } from 'knex';
import { isSluiceTable, type ColumnInfo, type Introspector, type TableInfo } from '../introspector.js';

/** Rows as node-oracledb returns them with OUT_FORMAT_OBJECT: keys are the upper-case column names. */
interface ColumnRow {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  NULLABLE: string;
  CHAR_LENGTH: number | null;
  DATA_PRECISION: number | null;
  DATA_SCALE: number | null;
  IDENTITY_COLUMN: string;
  VIRTUAL_COLUMN: string;
}

// Schemas Oracle installs (SYS, MDSYS, ...) are ORACLE_MAINTAINED; nested, IOT overflow,
// secondary and temporary tables and the recycle bin are not resources.
export const listTablesSql = `SELECT t.OWNER, t.TABLE_NAME
FROM ALL_TABLES t JOIN ALL_USERS u ON u.USERNAME = t.OWNER
WHERE u.ORACLE_MAINTAINED = 'N' AND t.NESTED = 'NO' AND t.SECONDARY = 'N' AND t.DROPPED = 'NO'
  AND t.TEMPORARY = 'N' AND t.IOT_TYPE IS NULL
ORDER BY t.OWNER, t.TABLE_NAME`;

// ALL_TAB_COLS rather than ALL_TAB_COLUMNS: only it has VIRTUAL_COLUMN; hidden (system) columns are left out.
export const columnsSql = `SELECT COLUMN_NAME, DATA_TYPE, NULLABLE, CHAR_LENGTH, DATA_PRECISION, DATA_SCALE,
  IDENTITY_COLUMN, VIRTUAL_COLUMN
FROM ALL_TAB_COLS
WHERE OWNER = ? AND TABLE_NAME = ? AND HIDDEN_COLUMN = 'NO'
ORDER BY COLUMN_ID`;

export const primaryKeySql = `SELECT cc.COLUMN_NAME
FROM ALL_CONSTRAINTS c
JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME
WHERE c.OWNER = ? AND c.TABLE_NAME = ? AND c.CONSTRAINT_TYPE = 'P'
ORDER BY cc.POSITION`;

export const foreignKeysSql = `SELECT c.CONSTRAINT_NAME, cc.COLUMN_NAME, r.OWNER AS R_OWNER, r.TABLE_NAME AS R_TABLE_NAME,
  rc.COLUMN_NAME AS R_COLUMN_NAME
FROM ALL_CONSTRAINTS c
JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME
JOIN ALL_CONSTRAINTS r ON r.OWNER = c.R_OWNER AND r.CONSTRAINT_NAME = c.R_CONSTRAINT_NAME
JOIN ALL_CONS_COLUMNS rc ON rc.OWNER = r.OWNER AND rc.CONSTRAINT_NAME = r.CONSTRAINT_NAME AND rc.POSITION = cc.POSITION
WHERE c.OWNER = ? AND c.TABLE_NAME = ? AND c.CONSTRAINT_TYPE = 'R'
ORDER BY c.CONSTRAINT_NAME, cc.POSITION`;

export const currentSchemaSql = `SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') AS SCHEMA_NAME FROM DUAL`;

/** Oracle's DATA_TYPE (with its precision and scale) → the names src/resources/starter-config.ts picks codecs from. */
export function oracleType(dataType: string, precision: number | null, scale: number | null): string {
  const t = dataType.toUpperCase();
  if (t === 'NUMBER') {
    // NUMBER(p) / NUMBER(p,0): integers; NUMBER, NUMBER(p,s) and INTEGER (NUMBER(*,0), 38 digits) stay exact.
    if (scale === 0 && precision !== null && precision <= 9) return 'integer';
    if (scale === 0 && precision !== null && precision <= 18) return 'bigint';
    return 'numeric';
  }
  // DATE carries a time of day to the second.
  if (t === 'DATE' || /^TIMESTAMP(\(\d+\))?$/.test(t)) return 'timestamp';
  if (/^TIMESTAMP(\(\d+\))? WITH (LOCAL )?TIME ZONE$/.test(t)) return 'timestamptz';
  switch (t) {
    case 'VARCHAR2':
      return 'varchar';
    case 'NVARCHAR2':
      return 'nvarchar';
    case 'LONG':
      return 'text';
    case 'BINARY_FLOAT':
      return 'real';
    case 'BINARY_DOUBLE':
      return 'double precision';
    default:
      return t.toLowerCase();
  }
}

function column(c: ColumnRow): ColumnInfo {
  const type = oracleType(c.DATA_TYPE, c.DATA_PRECISION, c.DATA_SCALE);
  return {
    name: c.COLUMN_NAME,
    type,
    nullable: c.NULLABLE === 'Y',
    length: /char/.test(type) && c.CHAR_LENGTH ? c.CHAR_LENGTH : undefined,
    scale: type === 'numeric' && c.DATA_SCALE !== null ? c.DATA_SCALE : undefined,
    precision: type === 'numeric' && c.DATA_PRECISION !== null ? c.DATA_PRECISION : undefined,
    generated: c.IDENTITY_COLUMN === 'YES' || c.VIRTUAL_COLUMN === 'YES',
  };
}

async function split(knex: Knex, table: string): Promise<[string, string]> {
  const dot = table.indexOf('.');
  if (dot > 0) return [table.slice(0, dot), table.slice(dot + 1)];
  const rows = await knex.raw<{ SCHEMA_NAME: string }[]>(currentSchemaSql);
  return [rows[0]!.SCHEMA_NAME, table];
}

export const oracleIntrospector: Introspector = {
  async listTables(knex) {
    const rows = await knex.raw<{ OWNER: string; TABLE_NAME: string }[]>(listTablesSql);
    return rows.map((r) => `${r.OWNER}.${r.TABLE_NAME}`).filter((t) => !isSluiceTable(t.toLowerCase()));
  },

  async describe(knex: Knex, table: string): Promise<TableInfo> {
    const [owner, name] = await split(knex, table);
    const cols = await knex.raw<ColumnRow[]>(columnsSql, [owner, name]);
    const pk = await knex.raw<{ COLUMN_NAME: string }[]>(primaryKeySql, [owner, name]);
    const fkRows = await knex.raw<
      {
        CONSTRAINT_NAME: string;
        COLUMN_NAME: string;
        R_OWNER: string;
        R_TABLE_NAME: string;
        R_COLUMN_NAME: string;
      }[]
    >(foreignKeysSql, [owner, name]);
    const fks = new Map<string, { columns: string[]; refTable: string; refColumns: string[] }>();
    for (const f of fkRows) {
      let fk = fks.get(f.CONSTRAINT_NAME);
      if (!fk)
        fks.set(
          f.CONSTRAINT_NAME,
          (fk = { columns: [], refTable: `${f.R_OWNER}.${f.R_TABLE_NAME}`, refColumns: [] }),
        );
      fk.columns.push(f.COLUMN_NAME);
      fk.refColumns.push(f.R_COLUMN_NAME);
    }
    return {
      name: `${owner}.${name}`,
      columns: cols.map(column),
      primaryKey: pk.map((r) => r.COLUMN_NAME),
      foreignKeys: [...fks.values()],
    };
  },
};
