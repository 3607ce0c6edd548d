// The changelog table and capture triggers a `triggers` source installs (`sluice migrate`), and
// everything else about reading that changelog that differs per database (the "trigger capture"
// object each dialect carries as `triggers`). Each database's builder
// (src/sql/<db>/<db>-triggers.ts) returns plain SQL statements, one per knex.raw call (SQL Server
// wants CREATE TRIGGER alone in its batch), so unit tests can read exactly what would run on SQL
// Server and Oracle.
//
// Changelog row: seq, txid (where the database has one), tbl (schema.table), op (c/u/d),
// row_key / old_row / new_row as JSON, and an ordering value safe against commit order (see
// adapters/triggers/README.md "The changelog"): PostgreSQL, MySQL/MariaDB and SQLite seq behind
// the visibility horizon (src/sql/horizon.ts); SQL Server a rowversion read below
// MIN_ACTIVE_ROWVERSION(); Oracle ORA_ROWSCN on a ROWDEPENDENCIES table.
//
// Every name is qualified: the changelog lives in one explicit schema (database on MySQL) and the
// triggers insert into it by its full name, so the legacy session's search_path or default
// database never changes what a trigger writes to (SQLite excepted: a trigger may not name a
// schema, and fires in the database of its table, where the changelog is).
import type { Knex } from 'knex';
import { lit } from './quote.js';

export interface CaptureTable {
  /** schema.table as configured. */
  readonly qualified: string;
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly string[];
  readonly key: readonly string[];
  /** Declared type per column (the introspector's type names), where the DDL needs it. */
  readonly types?: Readonly<Record<string, string>> | undefined;
}

/** The changelog table, always with its schema (database on MySQL, `main` on SQLite). */
export interface ChangelogName {
  readonly schema: string;
  readonly name: string;
}

/** What the first pass's snapshot already holds of the changelog (kept in the offset). */
export type Seen = { snapshot: string; through?: number | undefined } | { ranges: [number, number][] };

/** The part of a changelog cursor the per-database code reads and moves. */
export interface ChangelogPosition {
  last: (string | number | null)[] | null;
  seen?: Seen | undefined;
}

/**
 * How the changelog is read in commit-safe order:
 * - `seq`: the largest seq M is read, then a horizon mark; once the horizon has passed it, every
 *   transaction that could hold a seq ≤ M has ended, and (last, M] is published in seq order.
 * - `rowversion`: below MIN_ACTIVE_ROWVERSION() (SQL Server).
 * - `rowscn`: ORA_ROWSCN above the SCN taken before the previous scan (Oracle).
 */
export type ChangelogOrder = 'seq' | 'rowversion' | 'rowscn';

export interface TriggerDdl {
  /** DDL may run inside one transaction (PostgreSQL, SQLite); MySQL commits DDL implicitly. */
  readonly transactional: boolean;
  createChangelog(changelog: ChangelogName): string[];
  dropChangelog(changelog: ChangelogName): string[];
  createTriggers(changelog: ChangelogName, t: CaptureTable): string[];
  dropTriggers(t: CaptureTable): string[];
}

/** Everything about a triggers source that differs per database. */
export interface TriggerCapture extends TriggerDdl {
  readonly order: ChangelogOrder;
  /** The connection's default schema: where a changelog configured without one lives. */
  defaultSchema(knex: Knex): Promise<string>;
  /** A read-only transaction holding the first pass's snapshot, or null where the database gets none. */
  openReadView(knex: Knex): Promise<Knex.Transaction | null>;
  /**
   * Inside the view, before any table is read: records in `c` what of the changelog the view
   * holds (moving the cursor over what it holds entirely).
   */
  captureSeen(trx: Knex.Transaction, changelog: string, c: ChangelogPosition): Promise<void>;
  /** A select column `sluice_seen`, true for entries `seen` holds; null where ranges are used instead. */
  seenColumn(knex: Knex, seen: Seen): Knex.Raw | null;
  /** The select expression of a JSON column, as text (so no driver parses its numbers). */
  jsonText(knex: Knex, column: string): Knex.Raw | string;
  /**
   * A changelog JSON value (numbers as lossless-json LosslessNumber) → the event value of a column
   * of declared `type` (the introspector's name), as the database's other sources emit it.
   */
  value(type: string | undefined, v: unknown): unknown;
  /**
   * A cursor stored by an earlier version in another shape → a `seq` cursor, after removing the
   * entries the old one covers (all published and committed). Absent: such a cursor is an error.
   */
  adoptCursor?(
    knex: Knex,
    changelog: string,
    last: readonly (string | number | null)[],
  ): Promise<[number] | null>;
}

export interface TriggerPlan {
  readonly ddl: TriggerDdl;
  readonly changelog: ChangelogName;
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

/** No first-pass snapshot (SQL Server, Oracle): the cursor moves to the end first instead. */
export const noReadView = {
  openReadView: () => Promise.resolve(null),
  captureSeen: () => Promise.resolve(),
  seenColumn: () => null,
} satisfies Partial<TriggerCapture>;

/** Appends a seq (given in ascending order) to inclusive ranges. */
export function addToRanges(ranges: [number, number][], seq: number): void {
  const last = ranges[ranges.length - 1];
  if (last && seq === last[1] + 1) last[1] = seq;
  else if (!last || seq > last[1]) ranges.push([seq, seq]);
}
