// The commit-visibility bound (legacy-sources.md §5): a value read at one poll is handed on only
// once no transaction that was open at that poll can still commit a smaller one.
//
// A mark is taken right after reading the change column's largest value; `passed(mark)` says
// every transaction open at the mark has ended. Per database:
// - PostgreSQL: `pg_snapshot_xmax` at the mark ≤ `pg_snapshot_xmin` now (every xid handed out
//   before the mark is finished); in strict mode (timestamp columns, which a transaction may
//   stamp with its start time before it has an xid) also no session whose transaction began
//   before the mark (pg_stat_activity.xact_start; needs pg_read_all_stats to see other roles).
// - MySQL/MariaDB: the look-back window, and no InnoDB transaction started before the mark
//   (information_schema.INNODB_TRX, when PROCESS lets us read it).
// - SQLite: one writer at a time; the look-back window covers values the application computes.
// - SQL Server: no active transaction that began before the mark (VIEW SERVER STATE); rowversion
//   columns are bounded by MIN_ACTIVE_ROWVERSION() instead (see upperBound).
// - Oracle: no transaction in v$transaction whose start SCN is at or before the mark's SCN.
import type { Knex } from 'knex';

export interface Horizon {
  mark(): Promise<string>;
  passed(mark: string, strict: boolean): Promise<boolean>;
}

interface Mark {
  /** The database's own position or time at the mark. */
  readonly at: string | null;
  /** Local wall clock, for the look-back window. */
  readonly wall: number;
}

type Row = Record<string, unknown>;

/** Rows of a knex.raw result whatever the driver (pg: {rows}, mysql2: [rows, fields], others: rows). */
export function rawRows(res: unknown): Row[] {
  if (Array.isArray(res)) return (Array.isArray(res[0]) ? res[0] : res) as Row[];
  if (res && typeof res === 'object' && Array.isArray((res as { rows?: unknown }).rows))
    return (res as { rows: Row[] }).rows;
  return [];
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint') return v.toString();
  return v === null || v === undefined ? '' : JSON.stringify(v);
}

export interface HorizonSql {
  /** Returns one row with column `at`. */
  readonly markSql: string | null;
  /** Returns one row with column `ok` (truthy when passed); binds the mark's `at` (and for PG twice). */
  passedSql(strict: boolean): string | null;
  readonly binds: (at: string, strict: boolean) => unknown[];
}

export const horizonSql: Record<string, HorizonSql> = {
  postgres: {
    markSql: `SELECT json_build_object('x', pg_snapshot_xmax(pg_current_snapshot())::text, 't', clock_timestamp())::text AS at`,
    passedSql: (strict) =>
      `SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::numeric >= (?::json->>'x')::numeric)` +
      (strict
        ? ` AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND xact_start <= (?::json->>'t')::timestamptz)`
        : '') +
      ` AS ok`,
    binds: (at, strict) => (strict ? [at, at] : [at]),
  },
  mysql: {
    markSql: `SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f') AS at`,
    passedSql: () =>
      `SELECT NOT EXISTS (SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_started <= ? AND trx_mysql_thread_id <> CONNECTION_ID()) AS ok`,
    binds: (at) => [at],
  },
  sqlite: { markSql: null, passedSql: () => null, binds: () => [] },
  mssql: {
    markSql: `SELECT CONVERT(varchar(33), SYSDATETIME(), 126) AS at`,
    passedSql: () =>
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM sys.dm_tran_active_transactions a JOIN sys.dm_tran_session_transactions s ON a.transaction_id = s.transaction_id WHERE s.session_id <> @@SPID AND a.transaction_begin_time <= CONVERT(datetime2, ?, 126)) THEN 0 ELSE 1 END AS ok`,
    binds: (at) => [at],
  },
  oracle: {
    markSql: `SELECT TO_CHAR(current_scn) AS "at" FROM v$database`,
    passedSql: () =>
      `SELECT CASE WHEN EXISTS (SELECT 1 FROM v$transaction WHERE start_scn <= TO_NUMBER(?)) THEN 0 ELSE 1 END AS "ok" FROM dual`,
    binds: (at) => [at],
  },
};

export function createHorizon(
  dialect: string,
  knex: Knex,
  lookBackMs: number,
  warn: (msg: string) => void,
): Horizon {
  const sql = horizonSql[dialect] ?? horizonSql.sqlite!;
  let usable = sql.passedSql(false) !== null;
  return {
    async mark() {
      let at: string | null = null;
      if (sql.markSql) at = textOf(rawRows(await knex.raw(sql.markSql))[0]?.at);
      return JSON.stringify({ at, wall: Date.now() } satisfies Mark);
    },
    async passed(text, strict) {
      const m = JSON.parse(text) as Mark;
      if (Date.now() - m.wall < lookBackMs) return false;
      const q = sql.passedSql(strict);
      if (!usable || q === null || m.at === null) return true;
      try {
        const ok = rawRows(await knex.raw(q, sql.binds(m.at, strict) as Knex.RawBinding[]))[0]?.ok;
        return ok === true || ok === 1 || ok === '1' || ok === 't';
      } catch (err) {
        if (dialect === 'postgres') throw err;
        // No privilege to see other transactions: only the look-back window guards this source.
        usable = false;
        warn(
          `cannot read open transactions (${(err as Error).message}); relying on the look-back window alone: grant ${dialect === 'mysql' ? 'PROCESS' : dialect === 'mssql' ? 'VIEW SERVER STATE' : 'SELECT on v$transaction'} to close the gap`,
        );
        return true;
      }
    },
  };
}
