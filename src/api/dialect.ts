// What the generic store needs from each SQL dialect. Everything database-specific in the REST
// layer is behind this small interface (STYLE.md §1, §3); defaults live in `dialectBase`.
import type { Knex } from 'knex';
import type { Introspector } from './introspect/types.js';

/** A database error that is the client's fault, classified by the dialect that raised it. */
export type DbErrorKind = 'unique' | 'foreignKey' | 'notNull' | 'check' | 'invalidValue' | 'concurrency';

export interface Dialect {
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
   * Most bound values one `IN (...)` key list of an embed carries; longer lists are split into
   * several statements. 1000 keeps under Oracle's 1000-item IN list and, with the other
   * parameters of the statement, under SQL Server's 2100 parameters. Default 1000.
   */
  readonly inListChunk: number;
  /** Classifies a driver error; null when it is not a client mistake (then it is a 500/503). */
  classifyError(err: unknown): DbErrorKind | null;
  /** Case-insensitive LIKE. Default: LOWER(col) LIKE LOWER(?). */
  whereILike(qb: Knex.QueryBuilder, column: string, pattern: string, negate: boolean): void;
  /** A cheap row-count estimate of a whole table; default: an exact COUNT(*). */
  estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number>;
  /** Reads tables, keys and foreign keys for `sluice init`; absent where not implemented. */
  readonly introspector?: () => Promise<Introspector>;
  /** knex config (client, connection options) for a URL of this dialect. */
  knexConfig(url: string): Promise<Knex.Config>;
}

export const dialectBase = {
  rawRows: null,
  inListChunk: 1000,
  supportsReturning: true,
  nullsSortHigh: false,
  rowLocks: true,
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
} satisfies Partial<Dialect>;

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
