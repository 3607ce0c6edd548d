// The SELECTs of a poll, built with knex so they compile for every dialect (checked in
// test/unit/polling-sql.test.ts for SQL Server and Oracle).
import type { Knex } from 'knex';
import { whereAfter, type TableRef } from '../../src/sql/keyset.js';

/** The largest change-column value after `after` (at or after it when `inclusive`). */
export function maxQuery(knex: Knex, t: TableRef, after: unknown, inclusive = false): Knex.QueryBuilder {
  const q = knex(t.qualified).max({ m: t.column! });
  if (after !== null && after !== undefined) q.where(t.column!, inclusive ? '>=' : '>', after as Knex.Value);
  return q;
}

/** incrementing: rows with after < column ≤ upTo, by column. */
export function incrementingQuery(
  knex: Knex,
  t: TableRef,
  after: unknown,
  upTo: unknown,
  limit: number,
): Knex.QueryBuilder {
  const q = knex(t.qualified)
    .select('*')
    .where(t.column!, '<=', upTo as Knex.Value);
  if (after !== null && after !== undefined) q.where(t.column!, '>', after as Knex.Value);
  return q.orderBy(t.column!).limit(limit);
}

/**
 * timestamp: rows after (value, key) with column ≤ upTo, by column then key. Without `after`,
 * rows with column ≥ `from` (a poll's first page re-reads the cursor's own value: see #ranged).
 */
export function timestampQuery(
  knex: Knex,
  t: TableRef,
  after: { value: unknown; key: readonly unknown[] } | null,
  upTo: unknown,
  limit: number,
  from: unknown = null,
): Knex.QueryBuilder {
  const q = knex(t.qualified)
    .select('*')
    .where(t.column!, '<=', upTo as Knex.Value);
  if (after) whereAfter(q, [t.column!, ...t.key], [after.value, ...after.key]);
  else if (from !== null && from !== undefined) q.where(t.column!, '>=', from as Knex.Value);
  return q.orderBy([t.column!, ...t.key]).limit(limit);
}

/** SQL Server rowversion: rows after `after` and below MIN_ACTIVE_ROWVERSION(), no horizon wait needed. */
export function rowversionQuery(
  knex: Knex,
  t: TableRef,
  after: number | null,
  limit: number,
): Knex.QueryBuilder {
  const col = t.column!;
  const q = knex(t.qualified)
    .select('*', knex.raw('CONVERT(bigint, ??) AS ??', [col, 'sluice_rv']))
    .whereRaw('?? < MIN_ACTIVE_ROWVERSION()', [col]);
  if (after !== null) q.whereRaw('?? > CONVERT(binary(8), CONVERT(bigint, ?))', [col, after]);
  return q.orderBy(col).limit(limit);
}
