// The SELECTs of a poll, built with knex so they compile for every dialect (checked in
// test/unit/polling-sql.test.ts for SQL Server and Oracle).
import type { Knex } from 'knex';

/** Rows strictly after `values` in the order of `cols` (row-value comparison spelled out: SQL Server and Oracle lack it). */
export function whereAfter(
  qb: Knex.QueryBuilder,
  cols: readonly string[],
  values: readonly unknown[],
): Knex.QueryBuilder {
  return qb.where((outer) => {
    cols.forEach((_, i) => {
      outer.orWhere((inner) => {
        for (let j = 0; j < i; j++) inner.where(cols[j]!, values[j] as Knex.Value);
        inner.where(cols[i]!, '>', values[i] as Knex.Value);
      });
    });
  });
}

export interface TableRef {
  readonly qualified: string;
  readonly column?: string | undefined;
  readonly key: readonly string[];
}

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

/** diff: the next key-ordered chunk. */
export function chunkQuery(
  knex: Knex,
  t: TableRef,
  after: readonly unknown[] | null,
  limit: number,
): Knex.QueryBuilder {
  const q = knex(t.qualified).select('*');
  if (after) whereAfter(q, t.key, after);
  return q.orderBy([...t.key]).limit(limit);
}
