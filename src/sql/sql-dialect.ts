// What differs between databases, as members of one interface: REST queries, the visibility
// horizon of polling and triggers sources, trigger DDL, upserts for sinks, introspection and error
// classification. Generic code asks the dialect and never tests its name; defaults live in
// `dialectBase`. One implementation per database in src/sql/<db>/<db>-dialect.ts.
import type { Knex } from 'knex';
import type { HorizonSql } from './horizon.js';
import type { Introspector } from './introspector.js';
import { BridgeError } from '../core/errors.js';
import { dq } from './quote.js';
import type { TriggerCapture } from './trigger-ddl.js';
import type { DbTls } from './sql-tls.js';

/** A row to write, by column name. */
export type SqlRow = Record<string, unknown>;

/** A database error that is the client's fault, classified by the dialect that raised it. */
export type DbErrorKind = 'unique' | 'foreignKey' | 'notNull' | 'check' | 'invalidValue' | 'concurrency';

export interface SqlDialect {
  /** Name used in logs and OpenAPI only; generic code never branches on it. */
  readonly name: string;
  /** knex client name. */
  readonly client: string;
  /** INSERT ... RETURNING works (PostgreSQL, SQLite ≥ 3.35, SQL Server OUTPUT, Oracle). Default true. */
  readonly supportsReturning: boolean;
  /** SELECT ... FOR UPDATE is meaningful (false on SQLite, where a write transaction locks the file). Default true. */
  readonly rowLocks: boolean;
  /**
   * NULLs sort as the largest value by default (ASC → last, DESC → first): PostgreSQL, Oracle.
   * When false (MySQL, SQLite, SQL Server) nullable ordering columns get a CASE term. Default false.
   */
  readonly nullsSortHigh: boolean;
  /**
   * The rows of a `knex.raw` SELECT, out of the driver's raw result (its shape differs per driver).
   * null where that shape is not known: every query is then built by knex, none is cached. Default null.
   */
  readonly rawRows: ((result: unknown) => Record<string, unknown>[]) | null;
  /**
   * Runs a compiled statement (native placeholders) on a pooled driver connection and returns its
   * rows, skipping knex's per-query building and runner for cached statements. null where not
   * implemented: cached statements then go through `knex.raw`. Default null.
   */
  readonly queryOnConnection:
    | ((connection: unknown, sql: string, values: readonly unknown[]) => Promise<Record<string, unknown>[]>)
    | null;
  /**
   * Most bound values one `IN (...)` key list of an embed carries; longer lists are split into
   * several statements. 1000 keeps under Oracle's 1000-item IN list and, with the other
   * parameters of the statement, under SQL Server's 2100 parameters. Default 1000.
   */
  readonly inListChunk: number;
  /** Classifies a driver error; null when it is not a client mistake (then it is a 500/503). */
  classifyError(err: unknown): DbErrorKind | null;
  /**
   * The driver error says the database cannot be reached right now (refused, reset, timed out,
   * shutting down), read from the driver's error codes. Default: Node's socket error codes.
   */
  isUnavailable(err: unknown): boolean;
  /** Case-insensitive LIKE. Default: LOWER(col) LIKE LOWER(?). */
  whereILike(qb: Knex.QueryBuilder, column: string, pattern: string, negate: boolean): void;
  /** A cheap row-count estimate of a whole table; default: an exact COUNT(*). */
  estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number>;
  /** Reads tables, keys and foreign keys for `sluice init`; absent where not implemented. */
  readonly introspector?: () => Promise<Introspector>;
  /**
   * knex config (client, connection options) for a URL of this dialect, with the source's or
   * sink's `tls` mapped to the driver's options (verify-full unless the mode says otherwise).
   */
  knexConfig(url: string, tls?: DbTls): Promise<Knex.Config>;
  /**
   * knex config for a change source's session: values as change events carry them (e.g. int8 as
   * a number within ±2^53 on PostgreSQL). Default: knexConfig.
   */
  sourceKnexConfig(url: string, tls?: DbTls): Promise<Knex.Config>;
  /** An identifier as this database quotes it (`"x"`, `` `x` ``, `[x]`). Default double quotes. */
  quoteIdentifier(name: string): string;
  /** A statement that proves a connection works. Default `SELECT 1`. */
  readonly pingSql: string;
  /** The database name change events carry in `source.db`. Default: the URL's database. */
  databaseName(url: string): string;
  /** How the introspector's describe() names a table. Default: the bare table name. */
  introspectName(schema: string, table: string): string;
  /** The commit-visibility horizon's queries (src/sql/horizon.ts). Default: none (look-back only). */
  readonly horizon: HorizonSql;
  /**
   * The look-back window when a source sets none: 2 s where there is no log position to bound
   * by (MySQL/MariaDB, SQLite). Default 0.
   */
  readonly defaultLookBackMs: number;
  /** Whether a column of this declared type is a row version the database maintains (SQL Server). Default false. */
  isRowVersion(type: string): boolean;
  /** The changelog table, capture triggers and changelog reading of a `triggers` source. */
  readonly triggers: TriggerCapture;
  /**
   * Inserts `rows` or, where a row with the same `key` exists, updates its other columns (the
   * sinks' write). PostgreSQL/SQLite `ON CONFLICT (key)`, MySQL `ON DUPLICATE KEY` (which also
   * fires on any other unique key: keep the key the table's primary key), SQL Server and Oracle
   * `MERGE`. Every row has the same columns, key columns included. Values are bound parameters.
   */
  upsert(
    knex: Knex,
    table: string,
    rows: readonly SqlRow[],
    key: readonly string[],
  ): Knex.QueryBuilder | Knex.Raw;
  /**
   * A change event's value (its JSON form: README "Change events") as the bound parameter a sink
   * writes into a column whose type knex's `columnInfo()` reports as `columnType`. Default: base64
   * text into a binary column becomes bytes, an object or array becomes JSON text, the rest as is.
   */
  sinkValue(value: unknown, columnType: string): unknown;
  /**
   * `sluice verify`: an aggregate SQL expression over a chunk's rows, order-independent, that hashes
   * each row's text (`columns` as given, in that order), computed in the database; equal rows give
   * equal results on any two databases whose texts agree. null where the database has no hash
   * function (verify then compares rows). Default null.
   */
  chunkHashSql(columns: readonly string[]): string | null;
  /**
   * knex config for a sink's target. With `origin` (two-way sync), every write of its sessions is
   * marked so that a source capturing this database can tell it apart (PostgreSQL: the session's
   * replication origin). Default: sourceKnexConfig; with an origin, an error (not supported yet).
   */
  sinkKnexConfig(url: string, origin: string | null, tls?: DbTls): Promise<Knex.Config>;
  /**
   * How a two-way sink's writes are told apart here: `origin` (the sessions' replication origin,
   * set by sinkKnexConfig), `marker` (a sluice_sink_marker row written first in each transaction,
   * which the source capturing this database recognises), null (not supported: a twoWay sink
   * fails at start). Default null.
   */
  readonly sinkMarks: 'origin' | 'marker' | null;
  /**
   * Conflicts `newerWins`: the commit time of a target row's last change, as the database keeps
   * it. `sql` is selected with the row (a timestamp, or null when unknown); `check` says why it
   * cannot be used on this server (null: it can). null where the database keeps no such time:
   * a table then needs `changedAt`. Default null.
   */
  readonly rowCommitTime: RowCommitTime | null;
}

/** How a target database tells when a row last changed (`SqlDialect.rowCommitTime`). */
export interface RowCommitTime {
  readonly sql: string;
  check(knex: Knex): Promise<string | null>;
}

/** The table reference knex takes for `schema.table` (a bare name when there is no schema). */
export function tableRef(schema: string | undefined, table: string): string {
  return schema ? `${schema}.${table}` : table;
}

/** Columns of an upsert's rows that are not key columns (what an update sets). */
export function nonKeyColumns(rows: readonly SqlRow[], key: readonly string[]): string[] {
  const first = rows[0];
  if (!first) throw new RangeError('upsert needs at least one row');
  return Object.keys(first).filter((c) => !key.includes(c));
}

/** How one database spells a MERGE upsert (SQL Server, Oracle). */
export interface MergeSyntax {
  /** An identifier quoted, with `?` escaped so knex.raw does not read it as a placeholder. */
  readonly ident: (name: string) => string;
  /** The rows as a derived table `s` of `cols`, every value a `?` (SQL Server VALUES, Oracle SELECT … FROM dual). */
  readonly source: (cols: readonly string[], rows: number) => string;
  /** Between the target table and its alias `t` (SQL Server: `WITH (HOLDLOCK) AS `). */
  readonly targetAlias: string;
  /** Ends the statement (SQL Server wants `;` after a MERGE). */
  readonly end: string;
}

/** One MERGE for a batch of rows by key, values bound in row order. */
export function mergeUpsert(
  m: MergeSyntax,
  knex: Knex,
  table: string,
  rows: readonly SqlRow[],
  key: readonly string[],
): Knex.Raw {
  const set = nonKeyColumns(rows, key);
  const cols = [...key, ...set];
  const { ident } = m;
  const on = key.map((k) => `t.${ident(k)} = s.${ident(k)}`).join(' AND ');
  const update =
    set.length > 0
      ? ` WHEN MATCHED THEN UPDATE SET ${set.map((c) => `t.${ident(c)} = s.${ident(c)}`).join(', ')}`
      : '';
  const sql =
    `MERGE INTO ${table.split('.').map(ident).join('.')} ${m.targetAlias}t USING ${m.source(cols, rows.length)}` +
    ` ON (${on})${update} WHEN NOT MATCHED THEN INSERT (${cols.map(ident).join(', ')})` +
    ` VALUES (${cols.map((c) => `s.${ident(c)}`).join(', ')})${m.end}`;
  return knex.raw(
    sql,
    rows.flatMap((r) => cols.map((c) => r[c] as Knex.Value)),
  );
}

/**
 * `classifyError` and `isUnavailable` for drivers that carry the server's error number in one
 * property (tedious `number`, oracledb `errorNum`): client faults by number, "cannot reach the
 * database" by the driver's codes, the server's numbers, or the base's socket codes.
 */
export function numberedErrors(
  prop: 'number' | 'errorNum',
  kinds: Readonly<Record<number, DbErrorKind>>,
  unreachableCodes: ReadonlySet<string>,
  unreachableNumbers: ReadonlySet<number>,
): Pick<SqlDialect, 'classifyError' | 'isUnavailable'> {
  return {
    classifyError(err) {
      const n = errorProps(err)[prop];
      return n === undefined ? null : (kinds[n] ?? null);
    },
    isUnavailable(err) {
      const p = errorProps(err);
      const n = p[prop];
      return (
        dialectBase.isUnavailable(err) ||
        (p.code !== undefined && unreachableCodes.has(p.code)) ||
        (n !== undefined && unreachableNumbers.has(n))
      );
    },
  };
}

/** `INSERT ... ON CONFLICT (key) DO UPDATE` through knex (PostgreSQL, SQLite; MySQL ignores the key list). */
export function onConflictUpsert(
  knex: Knex,
  table: string,
  rows: readonly SqlRow[],
  key: readonly string[],
): Knex.QueryBuilder {
  const set = nonKeyColumns(rows, key);
  const q = knex(table)
    .insert(rows as SqlRow[])
    .onConflict([...key]);
  return set.length > 0 ? q.merge(set) : q.ignore();
}

/** Node's socket error codes (pg and mysql2 pass them through as the error's `code`). */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

export const dialectBase = {
  rawRows: null,
  queryOnConnection: null,
  inListChunk: 1000,
  supportsReturning: true,
  nullsSortHigh: false,
  rowLocks: true,
  pingSql: 'SELECT 1',
  quoteIdentifier: dq,
  defaultLookBackMs: 0,
  horizon: { markSql: null, passedSql: () => null, binds: () => [], privilegeHint: null },
  isRowVersion: () => false,
  sinkValue: baseSinkValue,
  chunkHashSql: () => null,
  rowCommitTime: null,
  sinkMarks: null,
  introspectName: (_schema: string, table: string) => table,
  databaseName: (url: string) => urlParts(url).database ?? '',
  sourceKnexConfig(this: SqlDialect, url: string, tls?: DbTls): Promise<Knex.Config> {
    return this.knexConfig(url, tls);
  },
  async sinkKnexConfig(
    this: SqlDialect,
    url: string,
    origin: string | null,
    tls?: DbTls,
  ): Promise<Knex.Config> {
    if (origin !== null && this.sinkMarks !== 'marker')
      throw new BridgeError(
        `marking a sink's writes (two-way sync) is not supported on ${this.name} targets yet: only PostgreSQL and MySQL/MariaDB`,
      );
    return this.sourceKnexConfig(url, tls);
  },
  isUnavailable(err: unknown): boolean {
    // No pooled connection came in time (knex's KnexTimeoutError, not a named export under ESM).
    if (err instanceof Error && err.name === 'KnexTimeoutError') return true;
    const { code } = errorProps(err);
    return code !== undefined && SOCKET_CODES.has(code);
  },
  whereILike(qb: Knex.QueryBuilder, column: string, pattern: string, negate: boolean): void {
    const sql = 'LOWER(??) LIKE LOWER(?)';
    if (negate) qb.whereRaw(`NOT (${sql})`, [column, pattern]);
    else qb.whereRaw(sql, [column, pattern]);
  },
  async estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number> {
    const row = (await knex(schema ? `${schema}.${table}` : table)
      .count({ n: '*' })
      .first()) as { n: number | string } | undefined;
    return Number(row?.n ?? 0);
  },
} satisfies Partial<SqlDialect>;

const BINARY_TYPE = /bytea|blob|binary|image|^raw$/i;

/** The default `sinkValue` (see SqlDialect.sinkValue). */
export function baseSinkValue(value: unknown, columnType: string): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return BINARY_TYPE.test(columnType) ? Buffer.from(value, 'base64') : value;
  if (typeof value === 'object' && !Buffer.isBuffer(value)) return JSON.stringify(value);
  return value;
}

/** Reads `code` / `errno` / `number` properties off a driver error without importing the driver. */
export function errorProps(err: unknown): {
  code?: string;
  errno?: number;
  number?: number;
  errorNum?: number;
  message: string;
} {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const e = err as {
    code?: unknown;
    errno?: unknown;
    number?: unknown;
    errorNum?: unknown;
    message?: unknown;
  };
  return {
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.errno === 'number' ? { errno: e.errno } : {}),
    ...(typeof e.number === 'number' ? { number: e.number } : {}),
    ...(typeof e.errorNum === 'number' ? { errorNum: e.errorNum } : {}),
    message: typeof e.message === 'string' ? e.message : Object.prototype.toString.call(err),
  };
}

/** host, port, user, password and database of a `scheme://user:pass@host:port/db` URL. */
export function urlParts(url: string): {
  host: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  params: URLSearchParams;
} {
  const u = new URL(url);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: decodeURIComponent(u.hostname) || '127.0.0.1',
    ...(u.port ? { port: Number(u.port) } : {}),
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(db ? { database: db } : {}),
    params: u.searchParams,
  };
}
