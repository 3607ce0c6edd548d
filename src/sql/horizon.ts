// The commit-visibility bound (adapters/polling/README.md): a value read at one poll is handed on only
// once no transaction that was open at that poll can still commit a smaller one.
//
// A mark is taken right after reading the change column's largest value; `passed(mark)` says
// every transaction open at the mark has ended. Per database:
// - PostgreSQL: a fresh xid (pg_current_xact_id()) at the mark ≤ `pg_snapshot_xmin` now (every xid handed out
//   before the mark is finished); in strict mode (timestamp columns, which a transaction may
//   stamp with its start time before it has an xid) also no session whose transaction began
//   before the mark (pg_stat_activity.xact_start; needs pg_read_all_stats to see other roles).
// - MySQL/MariaDB: the look-back window, and every InnoDB transaction open at the mark has ended
//   (information_schema.INNODB_TRX, when PROCESS lets us read it).
// - SQLite: one writer at a time; the look-back window covers values the application computes.
// - SQL Server: no active transaction that began before the mark (VIEW SERVER STATE); rowversion
//   columns are bounded by MIN_ACTIVE_ROWVERSION() instead (see upperBound).
// - Oracle: no transaction in v$transaction whose start SCN is at or before the mark's SCN.
import type { Knex } from 'knex';
import { setTimeout as sleep } from 'node:timers/promises';
import { rawRows } from './raw-rows.js';

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
  /**
   * What to grant when the open-transaction query is refused: the horizon then relies on the
   * look-back window alone and says so. null: a refusal is an error (PostgreSQL needs no grant).
   */
  readonly privilegeHint: string | null;
  /**
   * Least time between two of this horizon's queries. InnoDB refreshes INNODB_TRX only when
   * nobody read it in the last 100 ms, so reading it more often would keep showing a stale list
   * (a transaction that has ended looks open for ever, and one that began looks absent). Default 0.
   */
  readonly minIntervalMs?: number;
}

export function createHorizon(
  sql: HorizonSql,
  knex: Knex,
  lookBackMs: number,
  warn: (msg: string) => void,
): Horizon {
  let usable = sql.passedSql(false) !== null;
  /** No privilege to see other transactions: only the look-back window guards this source. */
  const refused = (err: unknown) => {
    usable = false;
    warn(
      `cannot read open transactions (${(err as Error).message}); relying on the look-back window alone: grant ${sql.privilegeHint} to close the gap`,
    );
  };
  const spacing = sql.minIntervalMs ?? 0;
  let lastQuery = 0;
  return {
    async mark() {
      let at: string | null = null;
      if (sql.markSql && usable) {
        const wait = lastQuery + spacing - Date.now();
        if (wait > 0) await sleep(wait);
        lastQuery = Date.now();
        try {
          at = textOf(rawRows(await knex.raw(sql.markSql))[0]?.at);
        } catch (err) {
          if (sql.privilegeHint === null) throw err;
          refused(err);
        }
      }
      return JSON.stringify({ at, wall: Date.now() } satisfies Mark);
    },
    async passed(text, strict) {
      const m = JSON.parse(text) as Mark;
      if (Date.now() - m.wall < lookBackMs) return false;
      const q = sql.passedSql(strict);
      if (!usable || q === null || m.at === null) return true;
      if (Date.now() - lastQuery < spacing) return false; // asked again on the next poll
      lastQuery = Date.now();
      try {
        const ok = rawRows(await knex.raw(q, sql.binds(m.at, strict) as Knex.RawBinding[]))[0]?.ok;
        return ok === true || ok === 1 || ok === '1' || ok === 't';
      } catch (err) {
        if (sql.privilegeHint === null) throw err;
        refused(err);
        return true;
      }
    },
  };
}
