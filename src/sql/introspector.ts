// What `sluice init` reads from a database: tables, columns, keys and foreign keys.
import type { Knex } from 'knex';

export interface ColumnInfo {
  readonly name: string;
  /** Lower-case type name as the database spells it (char, varchar, integer, numeric, ...). */
  readonly type: string;
  readonly nullable: boolean;
  /** Declared length of CHAR/VARCHAR columns. */
  readonly length?: number | undefined;
  /** Declared precision (total digits) of DECIMAL/NUMERIC columns. */
  readonly precision?: number | undefined;
  /** Declared scale of DECIMAL/NUMERIC columns. */
  readonly scale?: number | undefined;
  /** The column has a DEFAULT, so an INSERT may leave it out (unknown: treated as none). */
  readonly hasDefault?: boolean | undefined;
  /** Filled by the database on insert (identity, serial, auto_increment, INTEGER PRIMARY KEY). */
  readonly generated: boolean;
}

export interface ForeignKeyInfo {
  readonly columns: readonly string[];
  readonly refTable: string;
  readonly refColumns: readonly string[];
}

export interface TableInfo {
  /** Name as the config's `table` takes it (schema.table on PostgreSQL). */
  readonly name: string;
  readonly columns: readonly ColumnInfo[];
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly ForeignKeyInfo[];
}

export interface Introspector {
  /** Every user table (system tables and sluice's own excluded). */
  listTables(knex: Knex): Promise<string[]>;
  describe(knex: Knex, table: string): Promise<TableInfo>;
}

/** Tables sluice installs itself; never offered as resources. */
export const isSluiceTable = (name: string) => /(^|\.)sluice_/.test(name);
