// What the snapshot, the stream and the preflight share: a knex pool whose values are the
// polling source's (the dialect's source typeCast, session in UTC), the resolved tables with their
// keys and value kinds, the server's identity, the binlog connection's options, and how an event
// is put together.
import type { Knex } from 'knex';
import {
  makeChange,
  type ChangeInput,
  type ChangeOrigin,
  type SourceChange,
} from '../../src/core/change-event.js';
import type { Logger } from '../../src/core/source-adapter.js';
import { mysqlDialect } from '../../src/sql/mysql/mysql-dialect.js';
import { rawRows } from '../../src/sql/raw-rows.js';
import { VERSION } from '../../src/version.js';
import { serverIdOf, type MysqlSourceConfig } from './config.js';
import { classifyMysqlError } from './mysql-errors.js';
import { kindOfDataType, type ColumnDecoder } from './mysql-types.js';

export interface TableInfo {
  /** db.table */
  readonly qualified: string;
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly { name: string; dataType: string; json: boolean }[];
  /** Primary key columns in key order; empty for a table without one. */
  readonly key: readonly string[];
  /** How the snapshot's values are decoded, per column. */
  readonly decoders: readonly ColumnDecoder[];
}

export type MetaRow = Record<string, string | number | null>;

export interface ServerFacts {
  readonly version: string;
  readonly mariadb: boolean;
  readonly serverId: number;
  /** MySQL's @@server_uuid; undefined on MariaDB. */
  readonly serverUuid: string | undefined;
  /** MySQL gtid_mode=ON, or MariaDB (GTIDs always on). */
  readonly gtids: boolean;
}

export class MysqlSession {
  readonly tables = new Map<string, TableInfo>();
  readonly serverId: number;
  readonly db: string;
  #knex: Knex | null = null;
  #facts: ServerFacts | null = null;

  constructor(
    readonly cfg: MysqlSourceConfig,
    readonly log: Logger,
  ) {
    this.serverId = serverIdOf(cfg);
    this.db = mysqlDialect.databaseName(cfg.url);
  }

  classify(err: unknown, context: string) {
    return classifyMysqlError(err, context, this.cfg.name);
  }

  async knex(): Promise<Knex> {
    if (this.#knex) return this.#knex;
    const config = await mysqlDialect.sourceKnexConfig(this.cfg.url, this.cfg.tls);
    const { default: knexFactory } = await import('knex');
    const knex = knexFactory({ ...config, pool: { ...config.pool, min: 0, max: 3 } });
    try {
      await knex.raw('SELECT 1');
    } catch (err) {
      await knex.destroy().catch(() => {});
      throw this.classify(err, `cannot connect to ${this.cfg.name}`);
    }
    this.#knex = knex;
    return knex;
  }

  /** Rows of a catalog or status query (their values are text or numbers). */
  async rows(sql: string, binds: readonly unknown[] = []): Promise<MetaRow[]> {
    const knex = await this.knex();
    return rawRows(await knex.raw(sql, binds as Knex.RawBinding[])) as MetaRow[];
  }

  /** mysql2 options of the binlog connection (zongji): values as exact as the snapshot's. */
  async binlogOptions(): Promise<Record<string, unknown>> {
    const base = (await mysqlDialect.knexConfig(this.cfg.url, this.cfg.tls)).connection as Record<
      string,
      unknown
    >;
    const { database: _db, ...rest } = base;
    return { ...rest, dateStrings: true, timezone: 'Z', decimalNumbers: false, jsonStrings: true };
  }

  async facts(): Promise<ServerFacts> {
    if (this.#facts) return this.#facts;
    const [v] = await this.rows('SELECT VERSION() AS version, @@server_id AS id');
    const version = String(v?.version ?? '');
    const mariadb = /mariadb/i.test(version);
    let serverUuid: string | undefined;
    let gtids = mariadb;
    if (!mariadb) {
      const [m] = await this.rows('SELECT @@server_uuid AS uuid, @@gtid_mode AS mode');
      serverUuid = String(m?.uuid ?? '');
      gtids = String(m?.mode ?? '').toUpperCase() === 'ON';
    }
    this.#facts = { version, mariadb, serverId: Number(v?.id ?? 0), serverUuid, gtids };
    return this.#facts;
  }

  /** The configured tables (globs like `db.*` expanded), and the patterns that match nothing. */
  async resolveTables(): Promise<{ found: string[]; missing: string[] }> {
    const found: string[] = [];
    const missing: string[] = [];
    for (const pattern of this.cfg.tables) {
      const dot = pattern.indexOf('.');
      const like = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%');
      const rows = await this.rows(
        `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t FROM information_schema.TABLES
          WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA LIKE ? AND TABLE_NAME LIKE ? ORDER BY 1, 2`,
        [like(pattern.slice(0, dot)), like(pattern.slice(dot + 1))],
      );
      if (rows.length === 0) missing.push(pattern);
      for (const r of rows) {
        const q = `${String(r.s)}.${String(r.t)}`;
        if (!found.includes(q)) found.push(q);
      }
    }
    return { found, missing };
  }

  /** Loads (or reloads) a table's columns, key and JSON columns; null when it does not exist. */
  async loadTable(qualified: string): Promise<TableInfo | null> {
    const dot = qualified.indexOf('.');
    const schema = qualified.slice(0, dot);
    const name = qualified.slice(dot + 1);
    const cols = await this.rows(
      `SELECT COLUMN_NAME AS name, DATA_TYPE AS type, COLUMN_KEY AS k FROM information_schema.COLUMNS
        WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [schema, name],
    );
    if (cols.length === 0) {
      this.tables.delete(qualified);
      return null;
    }
    const key = (
      await this.rows(
        `SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
          WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
        [schema, name],
      )
    ).map((r) => String(r.name));
    const json = new Set<string>();
    if ((await this.facts()).mariadb) {
      // MariaDB's JSON is LONGTEXT with a json_valid(`col`) check.
      const checks = await this.rows(
        `SELECT CHECK_CLAUSE AS c FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`,
        [schema, name],
      );
      for (const ch of checks) {
        const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(ch.c).trim());
        if (m) json.add(m[1]!.replace(/``/g, '`'));
      }
    }
    const columns = cols.map((c) => ({
      name: String(c.name),
      dataType: String(c.type).toLowerCase(),
      json: json.has(String(c.name)),
    }));
    const info: TableInfo = {
      qualified,
      schema,
      name,
      columns,
      key,
      decoders: columns.map((c) => ({ name: c.name, kind: kindOfDataType(c.dataType, c.json) })),
    };
    this.tables.set(qualified, info);
    return info;
  }

  keyOf(table: TableInfo | undefined, row: Readonly<Record<string, unknown>>): Record<string, unknown> {
    const key: Record<string, unknown> = {};
    for (const c of table?.key ?? []) key[c] = row[c];
    return key;
  }

  #origin: ChangeOrigin<'mysql'> | null = null;

  change(e: ChangeInput<'mysql'>): SourceChange {
    this.#origin ??= { connector: 'mysql', source: this.cfg.name, version: VERSION, db: this.db };
    return makeChange(this.#origin, e);
  }

  async close(): Promise<void> {
    const k = this.#knex;
    this.#knex = null;
    this.#facts = null;
    await k?.destroy().catch(() => {});
  }
}
