// The changelog table and capture triggers a `triggers` source installs (`sluice migrate`). Each
// database's builder (src/sql/<db>/<db>-triggers.ts) returns plain SQL statements, one per
// knex.raw call (SQL Server wants CREATE TRIGGER alone in its batch), so unit tests can read
// exactly what would run on SQL Server and Oracle.
//
// Changelog row: seq, txid (where the database has one), tbl (schema.table), op (c/u/d),
// row_key / old_row / new_row as JSON, and an ordering value safe against commit order:
// PostgreSQL (txid xid8, seq) read below pg_snapshot_xmin; SQL Server a rowversion read below
// MIN_ACTIVE_ROWVERSION(); Oracle ORA_ROWSCN on a ROWDEPENDENCIES table; MySQL and SQLite seq
// behind the visibility horizon (src/sql/horizon.ts).
import { lit } from './quote.js';

export interface CaptureTable {
  /** schema.table as configured. */
  readonly qualified: string;
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly string[];
  readonly key: readonly string[];
}

export interface TriggerDdl {
  /** DDL may run inside one transaction (PostgreSQL, SQLite); MySQL commits DDL implicitly. */
  readonly transactional: boolean;
  createChangelog(changelog: string): string[];
  dropChangelog(changelog: string): string[];
  createTriggers(changelog: string, t: CaptureTable): string[];
  dropTriggers(t: CaptureTable): string[];
}

export interface TriggerPlan {
  readonly ddl: TriggerDdl;
  readonly changelog: string;
  readonly tables: readonly CaptureTable[];
}

/** A trigger name per table, short enough for every database (Oracle: 128, PostgreSQL: 63, MySQL: 64). */
export function triggerName(t: CaptureTable, suffix = ''): string {
  const base = `sluice_cap_${t.name}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 50);
  return `${base}${suffix}`;
}

/** `fn('a', ref(a), 'b', ref(b), ...)`: a JSON object of columns built in SQL. */
export function jsonPairs(
  cols: readonly string[],
  ref: (c: string) => string,
  fn: string,
  sep = ', ',
): string {
  return `${fn}(${cols.map((c) => `${lit(c)}${sep}${ref(c)}`).join(', ')})`;
}
