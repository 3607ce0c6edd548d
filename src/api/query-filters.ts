// Filter trees (API names) → knex WHERE clauses on columns, every value through the field's codec
// and bound as a parameter. Unknown fields, operators or values are QuerySyntaxErrors (400).
import type { Knex } from 'knex';
import { CodecError } from '../core/codecs.js';
import type { MappedField } from '../core/mapping.js';
import type { Dialect } from './dialect.js';
import { QuerySyntaxError, type ComparisonOp, type Filter } from './filter-grammar.js';

const sqlOps: Partial<Record<ComparisonOp, string>> = {
  eq: '=',
  neq: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};

/** Resolves an API field name the caller may use; undefined when unknown or hidden. */
export type FieldLookup = (name: string) => MappedField | undefined;

function dbValue(f: MappedField, text: string, param: string): Knex.Value {
  try {
    const v = f.codec.parseText(text);
    return f.codec.encode(v);
  } catch (err) {
    if (err instanceof CodecError) throw new QuerySyntaxError(`${param}: ${err.message}`, param);
    throw err;
  }
}

function applyCondition(
  qb: Knex.QueryBuilder,
  f: MappedField,
  op: ComparisonOp,
  value: string | readonly string[],
  negate: boolean,
  dialect: Dialect,
): void {
  const param = f.name;
  const col = f.column;
  const where = negate ? qb.whereNot.bind(qb) : qb.where.bind(qb);
  switch (op) {
    case 'is': {
      if (value === 'null') {
        if (negate) qb.whereNotNull(col);
        else qb.whereNull(col);
        return;
      }
      where(col, '=', dbValue(f, value as string, param));
      return;
    }
    case 'in': {
      const list = (value as readonly string[]).map((v) => dbValue(f, v, param));
      if (list.length === 0) qb.whereRaw(negate ? '1 = 1' : '1 = 0');
      else if (negate) qb.whereNotIn(col, list);
      else qb.whereIn(col, list);
      return;
    }
    case 'like':
    case 'ilike': {
      if (!f.codec.textual) throw new QuerySyntaxError(`${param}: ${op} applies to text fields only`, param);
      const pattern = (value as string).replaceAll('*', '%');
      if (op === 'ilike') dialect.whereILike(qb, col, pattern, negate);
      else where(col, 'like', pattern);
      return;
    }
    case 'eq':
    case 'neq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      where(col, sqlOps[op]!, dbValue(f, value as string, param));
      return;
    default: {
      const never: never = op;
      throw new QuerySyntaxError(`unknown operator ${String(never)}`, param);
    }
  }
}

/** ANDs `filter` onto `qb`. */
export function applyFilter(
  qb: Knex.QueryBuilder,
  filter: Filter,
  lookup: FieldLookup,
  dialect: Dialect,
): void {
  if (filter.kind === 'cond') {
    const f = lookup(filter.field);
    if (!f) throw new QuerySyntaxError(`unknown field "${filter.field}"`, filter.field);
    applyCondition(qb, f, filter.op, filter.value, filter.negate, dialect);
    return;
  }
  const group = (sub: Knex.QueryBuilder) => {
    for (const item of filter.items) {
      const add = (inner: Knex.QueryBuilder) => applyFilter(inner, item, lookup, dialect);
      if (filter.kind === 'or') sub.orWhere(add);
      else sub.where(add);
    }
  };
  if (filter.negate) qb.whereNot(group);
  else qb.where(group);
}

export interface OrderTerm {
  readonly field: MappedField;
  readonly desc: boolean;
}

/**
 * ORDER BY with NULLs sorting as the largest value in both directions (keyset relies on it).
 * Not knex's `nulls` argument: on MySQL and SQLite it replaces the column by its IS NULL test.
 */
export function applyOrder(qb: Knex.QueryBuilder, terms: readonly OrderTerm[], dialect: Dialect): void {
  for (const t of terms) {
    const dir = t.desc ? 'desc' : 'asc';
    if (t.field.spec.nullable && !dialect.nullsSortHigh)
      qb.orderByRaw(`CASE WHEN ?? IS NULL THEN 1 ELSE 0 END ${dir}`, [t.field.column]);
    qb.orderBy(t.field.column, dir);
  }
}

/** Rows strictly after the row whose ordering values are `values` (expanded OR-of-ANDs form). */
export function applyKeyset(
  qb: Knex.QueryBuilder,
  terms: readonly OrderTerm[],
  values: readonly unknown[],
): void {
  qb.where((outer) => {
    terms.forEach((term, i) => {
      outer.orWhere((branch) => {
        for (let j = 0; j < i; j++) {
          const v = values[j];
          if (v === null) branch.whereNull(terms[j]!.field.column);
          else branch.where(terms[j]!.field.column, v as Knex.Value);
        }
        after(branch, term, values[i]);
      });
    });
  });
}

function after(qb: Knex.QueryBuilder, t: OrderTerm, v: unknown): void {
  const col = t.field.column;
  const nullable = t.field.spec.nullable;
  if (t.desc) {
    if (v === null) qb.whereNotNull(col);
    else qb.where(col, '<', v as Knex.Value);
    return;
  }
  if (v === null) qb.whereRaw('1 = 0');
  else if (nullable)
    qb.where((s) => {
      s.where(col, '>', v as Knex.Value).orWhereNull(col);
    });
  else qb.where(col, '>', v as Knex.Value);
}
