// Key-ordered reads: the next chunk of a table after a key (first passes, diff passes), built
// with knex so it compiles for every dialect (checked in test/unit/polling-sql.test.ts).
import type { Knex } from 'knex';
import type { ReadChunk } from '../core/keyset-snapshot.js';
import { bindable, normalizeRow, type Row } from './sql-values.js';

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

/** A table read in key order (and, for polling, by a change column). */
export interface TableRef {
  readonly qualified: string;
  readonly column?: string | undefined;
  readonly key: readonly string[];
}

/** A configured table with its schema and name apart. */
export interface KeyedTable extends TableRef {
  readonly schema: string;
  readonly name: string;
}

/** The next key-ordered chunk after `after` (the first when null). */
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

/** Key-ordered chunks through knex (or a transaction), rows as events carry them: the keyset helper's reader. */
export function knexChunks(knex: Knex): ReadChunk<TableRef, Row> {
  return async (t, after, limit) => {
    const rows = ((await chunkQuery(knex, t, after, limit)) as Row[]).map(normalizeRow);
    const last = rows[rows.length - 1];
    return { rows, lastKey: last ? t.key.map((k) => bindable(last[k])) : null };
  };
}
