// What the snapshot, the stream and the preflight share: one oracledb Thin connection (loaded
// lazily, the session's NLS formats and time zone fixed so SQL_REDO literals read the same on every
// server), the resolved tables with their columns and keys, and how an event is put together.
import { createRequire } from 'node:module';
import {
  makeChange,
  type ChangeInput,
  type ChangeOrigin,
  type SourceChange,
} from '../../src/core/change-event.js';
import { ConfigError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/source-adapter.js';
import { urlParts } from '../../src/sql/sql-dialect.js';
import { VERSION } from '../../src/version.js';
import type { OracleSourceConfig } from './config.js';
import { classifyOracleError } from './oracle-errors.js';
import { fetchTypeHandler, oracleColumn, type OracleColumn, type OracledbTypes } from './oracle-types.js';

/** A row as oracledb returns it with `outFormat: OUT_FORMAT_OBJECT`, keyed by upper-case column name. */
export type OracleRow = Record<string, OracleValue>;

/** What oracledb hands back under this adapter's fetchTypeHandler (NUMBER and CLOB as strings). */
export type OracleValue = string | number | Date | Buffer | null | undefined;

/** The structural subset of an oracledb Connection this adapter uses. */
export interface OracleConnection {
  readonly oracleServerVersionString?: string;
  execute(
    sql: string,
    binds: readonly unknown[] | Record<string, unknown>,
    options: Record<string, unknown>,
  ): Promise<{ rows?: OracleRow[]; resultSet?: OracleResultSet }>;
  close(): Promise<void>;
}

/** oracledb's ResultSet (`execute(..., { resultSet: true })`): rows a page at a time. */
export interface OracleResultSet {
  getRows(n: number): Promise<OracleRow[]>;
  close(): Promise<void>;
}

/** The structural subset of the oracledb module: its type constants and getConnection. */
export interface OracleDriver extends OracledbTypes {
  readonly OUT_FORMAT_OBJECT: unknown;
  getConnection(cfg: { user?: string; password?: string; connectString: string }): Promise<OracleConnection>;
}

/** How the adapter reaches oracledb; tests pass a driver that answers from recorded rows. */
export type DriverLoader = () => Promise<OracleDriver>;

export const loadOracledb: DriverLoader = async () =>
  // oracledb is CommonJS without type declarations; Thin mode is its default (no initOracleClient).
  createRequire(import.meta.url)('oracledb') as OracleDriver;

/**
 * The formats SQL_REDO literals are printed in (LogMiner uses the mining session's NLS settings)
 * and the time zone zone-less TIMESTAMP WITH LOCAL TIME ZONE text is read in.
 */
export const SESSION_SETUP = [
  `ALTER SESSION SET NLS_DATE_FORMAT = 'YYYY-MM-DD HH24:MI:SS'`,
  `ALTER SESSION SET NLS_TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9'`,
  `ALTER SESSION SET NLS_TIMESTAMP_TZ_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF9 TZH:TZM'`,
  `ALTER SESSION SET NLS_NUMERIC_CHARACTERS = '.,'`,
  `ALTER SESSION SET TIME_ZONE = '00:00'`,
];

export interface TableInfo {
  /** OWNER.TABLE as configured (upper case). */
  readonly qualified: string;
  readonly owner: string;
  readonly name: string;
  readonly columns: readonly OracleColumn[];
  readonly byName: ReadonlyMap<string, OracleColumn>;
  /** Primary key columns in key order; empty for a table without one. */
  readonly key: readonly string[];
}

export class OracleSession {
  readonly tables = new Map<string, TableInfo>();
  readonly db: string;
  #driver: OracleDriver | null = null;
  #conn: OracleConnection | null = null;
  #origin: ChangeOrigin<'oracle'> | null = null;

  constructor(
    readonly cfg: OracleSourceConfig,
    readonly log: Logger,
    readonly loadDriver: DriverLoader = loadOracledb,
  ) {
    this.db = urlParts(cfg.url).database ?? 'FREEPDB1';
  }

  classify(err: unknown, context: string) {
    return classifyOracleError(err, context, this.cfg.name);
  }

  async driver(): Promise<OracleDriver> {
    this.#driver ??= await this.loadDriver();
    return this.#driver;
  }

  /** The session's one connection (a LogMiner session belongs to a connection). */
  async connection(): Promise<OracleConnection> {
    if (this.#conn) return this.#conn;
    const p = urlParts(this.cfg.url);
    if (!p.host) throw new ConfigError(`source ${this.cfg.name}: the url names no host`);
    const driver = await this.driver();
    try {
      const conn = await driver.getConnection({
        ...(p.user ? { user: p.user } : {}),
        ...(p.password ? { password: p.password } : {}),
        connectString: `${p.host}:${p.port ?? 1521}/${p.database ?? 'FREEPDB1'}`,
      });
      for (const sql of SESSION_SETUP) await conn.execute(sql, [], {});
      this.#conn = conn;
      return conn;
    } catch (err) {
      throw this.classify(err, `cannot connect to Oracle for source ${this.cfg.name}`);
    }
  }

  /** Rows of a query, objects keyed by column name, NUMBER as strings, LOBs inline. */
  async rows(sql: string, binds: readonly unknown[] | Record<string, unknown> = []): Promise<OracleRow[]> {
    const conn = await this.connection();
    const driver = await this.driver();
    const r = await conn.execute(sql, binds, {
      outFormat: driver.OUT_FORMAT_OBJECT,
      fetchTypeHandler: fetchTypeHandler(driver),
    });
    return r.rows ?? [];
  }

  /** Rows of a long query a page at a time (a ResultSet), so a mining window is never held whole. */
  async *stream(
    sql: string,
    binds: readonly unknown[] | Record<string, unknown>,
    pageSize = 1000,
  ): AsyncGenerator<OracleRow[]> {
    const conn = await this.connection();
    const driver = await this.driver();
    const r = await conn.execute(sql, binds, {
      outFormat: driver.OUT_FORMAT_OBJECT,
      fetchTypeHandler: fetchTypeHandler(driver),
      resultSet: true,
      fetchArraySize: pageSize,
    });
    const rs = r.resultSet;
    if (!rs) {
      if (r.rows?.length) yield r.rows;
      return;
    }
    try {
      for (;;) {
        const page = await rs.getRows(pageSize);
        if (page.length === 0) return;
        yield page;
      }
    } finally {
      await rs.close().catch(() => {});
    }
  }

  /** A statement without rows (PL/SQL blocks, ALTER SESSION). */
  async run(sql: string, binds: readonly unknown[] | Record<string, unknown> = []): Promise<void> {
    const conn = await this.connection();
    await conn.execute(sql, binds, {});
  }

  /** The configured tables that exist, `OWNER.*` globs expanded; `missing` lists the rest. */
  async resolveTables(): Promise<{ found: string[]; missing: string[] }> {
    const found: string[] = [];
    const missing: string[] = [];
    for (const entry of this.cfg.tables) {
      // Oracle folds unquoted names to upper case; a name created quoted (knex does) keeps its case.
      // The name as written is tried first, then upper-cased.
      const [owner, table] = entry.split('.') as [string, string];
      let rows: OracleRow[] = [];
      for (const [o, t] of [
        [owner, table],
        [owner.toUpperCase(), table.toUpperCase()],
      ] as const) {
        rows = await this.rows(
          `SELECT OWNER, TABLE_NAME FROM ALL_TABLES WHERE OWNER = :1 AND TABLE_NAME LIKE :2 ORDER BY TABLE_NAME`,
          [o, t.replace(/\*/g, '%')],
        );
        if (rows.length > 0) break;
      }
      if (rows.length === 0) missing.push(entry);
      for (const r of rows) {
        const q = `${String(r.OWNER)}.${String(r.TABLE_NAME)}`;
        if (!found.includes(q)) found.push(q);
      }
    }
    return { found, missing };
  }

  /** Reads a table's columns (ALL_TAB_COLUMNS) and primary key; again after DDL on it. */
  async loadTable(qualified: string): Promise<TableInfo> {
    const [owner, name] = qualified.split('.') as [string, string];
    const cols = await this.rows(
      `SELECT COLUMN_NAME, DATA_TYPE, DATA_PRECISION, DATA_SCALE FROM ALL_TAB_COLUMNS
        WHERE OWNER = :1 AND TABLE_NAME = :2 ORDER BY COLUMN_ID`,
      [owner, name],
    );
    const keys = await this.rows(
      `SELECT cc.COLUMN_NAME FROM ALL_CONSTRAINTS c
         JOIN ALL_CONS_COLUMNS cc ON cc.OWNER = c.OWNER AND cc.CONSTRAINT_NAME = c.CONSTRAINT_NAME
        WHERE c.OWNER = :1 AND c.TABLE_NAME = :2 AND c.CONSTRAINT_TYPE = 'P' ORDER BY cc.POSITION`,
      [owner, name],
    );
    const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const columns = cols.map((c) =>
      oracleColumn(String(c.COLUMN_NAME), String(c.DATA_TYPE), num(c.DATA_PRECISION), num(c.DATA_SCALE)),
    );
    const info: TableInfo = {
      qualified,
      owner,
      name,
      columns,
      byName: new Map(columns.map((c) => [c.name, c])),
      key: keys.map((k) => String(k.COLUMN_NAME)),
    };
    this.tables.set(qualified, info);
    return info;
  }

  change(e: ChangeInput<'oracle'>): SourceChange {
    this.#origin ??= { connector: 'oracle', source: this.cfg.name, version: VERSION, db: this.db };
    return makeChange(this.#origin, e);
  }

  async close(): Promise<void> {
    const c = this.#conn;
    this.#conn = null;
    await c?.close().catch(() => {});
  }
}

/** The key values of a row, by key column. */
export function keyOf(t: TableInfo, row: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const key: Record<string, unknown> = {};
  for (const k of t.key) key[k] = row[k];
  return key;
}
