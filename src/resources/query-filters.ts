// Filter trees (API names) → knex WHERE clauses on columns, every value through the field's codec
// and bound as a parameter. Unknown fields, operators or values are QuerySyntaxErrors (400).
import type { Knex } from 'knex';
import { CodecError, type StoredNulls } from '../core/codecs.js';
import type { MappedField } from '../core/mapping.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
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

/**
 * A filter with its fields resolved and its values encoded. Values sit in a separate parameter
 * list and are referred to by slot, so that the tree (with the parameters' types) is the shape of
 * the SQL it compiles to: requests that differ only in values share one compiled statement.
 */
export type BoundFilter =
  | {
      readonly kind: 'null';
      readonly column: string;
      readonly negate: boolean;
      readonly nulls?: StoredNulls | undefined;
    }
  | {
      readonly kind: 'compare';
      readonly column: string;
      readonly op: string;
      readonly negate: boolean;
      readonly slot: number;
      readonly nulls?: StoredNulls | undefined;
    }
  | {
      readonly kind: 'in';
      readonly column: string;
      readonly negate: boolean;
      readonly slots: readonly number[];
      readonly nulls?: StoredNulls | undefined;
    }
  | {
      readonly kind: 'like';
      readonly column: string;
      readonly negate: boolean;
      readonly insensitive: boolean;
      readonly slot: number;
    }
  | {
      readonly kind: 'group';
      readonly or: boolean;
      readonly negate: boolean;
      readonly items: readonly BoundFilter[];
    };

/** The value of a parameter slot while building a query. */
export type SlotValue = (slot: number) => Knex.Value;

function bindCondition(
  f: MappedField,
  op: ComparisonOp,
  value: string | readonly string[],
  negate: boolean,
  params: Knex.Value[],
): BoundFilter {
  const param = f.name;
  const column = f.column;
  const slot = (v: Knex.Value) => params.push(v) - 1;
  // Stored values the codec reads as null are null to filters too (docs/rest-api.md).
  const nulls = f.codec.storedNulls;
  switch (op) {
    case 'is':
      if (value === 'null') return { kind: 'null', column, negate, nulls };
      return {
        kind: 'compare',
        column,
        op: '=',
        negate,
        slot: slot(dbValue(f, value as string, param)),
        nulls,
      };
    case 'in':
      return {
        kind: 'in',
        column,
        negate,
        slots: (value as readonly string[]).map((v) => slot(dbValue(f, v, param))),
        nulls,
      };
    case 'like':
    case 'ilike':
      if (!f.codec.textual) throw new QuerySyntaxError(`${param}: ${op} applies to text fields only`, param);
      return {
        kind: 'like',
        column,
        negate,
        insensitive: op === 'ilike',
        slot: slot((value as string).replaceAll('*', '%')),
      };
    case 'eq':
    case 'neq':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return {
        kind: 'compare',
        column,
        op: sqlOps[op]!,
        negate,
        slot: slot(dbValue(f, value as string, param)),
        nulls,
      };
    default: {
      const never: never = op;
      throw new QuerySyntaxError(`unknown operator ${String(never)}`, param);
    }
  }
}

/** Resolves and encodes `filter`, appending its values to `params`. */
export function bindFilter(filter: Filter, lookup: FieldLookup, params: Knex.Value[]): BoundFilter {
  if (filter.kind === 'cond') {
    const f = lookup(filter.field);
    if (!f) throw new QuerySyntaxError(`unknown field "${filter.field}"`, filter.field);
    return bindCondition(f, filter.op, filter.value, filter.negate, params);
  }
  return {
    kind: 'group',
    or: filter.kind === 'or',
    negate: filter.negate,
    items: filter.items.map((item) => bindFilter(item, lookup, params)),
  };
}

/**
 * The column as the API sees it: NULL where the stored value reads as null. SQL's three-valued
 * logic then gives every operator, negated or not, the meaning the responses show.
 */
function apiValueSql(column: string, nulls: StoredNulls): { sql: string; bindings: Knex.Value[] } {
  const list = nulls.values.map(() => '?').join(', ');
  const values = nulls.values as Knex.Value[];
  return nulls.kind === 'in'
    ? { sql: `(CASE WHEN ?? IN (${list}) THEN NULL ELSE ?? END)`, bindings: [column, ...values, column] }
    : { sql: `(CASE WHEN ?? IN (${list}) THEN ?? END)`, bindings: [column, ...values, column] };
}

/** A condition on a column whose codec reads some stored values as null (see apiValueSql). */
function applyOverApiValue(
  qb: Knex.QueryBuilder,
  b: Extract<BoundFilter, { kind: 'null' | 'compare' | 'in' }>,
  nulls: StoredNulls,
  value: SlotValue,
): void {
  const e = apiValueSql(b.column, nulls);
  const not = (sql: string) => (b.negate ? `NOT (${sql})` : sql);
  switch (b.kind) {
    case 'null':
      qb.whereRaw(`${e.sql} IS ${b.negate ? 'NOT ' : ''}NULL`, e.bindings);
      return;
    case 'compare':
      qb.whereRaw(not(`${e.sql} ${b.op} ?`), [...e.bindings, value(b.slot)]);
      return;
    case 'in':
      if (b.slots.length === 0) qb.whereRaw(b.negate ? '1 = 1' : '1 = 0');
      else
        qb.whereRaw(not(`${e.sql} IN (${b.slots.map(() => '?').join(', ')})`), [
          ...e.bindings,
          ...b.slots.map(value),
        ]);
      return;
    default: {
      const never: never = b;
      throw new TypeError(`unexpected filter ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Whether a condition over a codec's stored nulls needs the API-value expression: is.null, and
 * anything negated. Outside negations, `eq` and `in` compare with encoded API values, never a
 * stored value that reads as null, so the plain column gives the same rows (and keeps indexes);
 * ranges add a guard (applyGuarded).
 */
function needsApiValue(
  b: Extract<BoundFilter, { kind: 'null' | 'compare' | 'in' }>,
  underNot: boolean,
): boolean {
  return b.kind === 'null' || underNot || b.negate;
}

/**
 * A range comparison outside any negation: on the plain column (indexes still apply), with the
 * stored values that read as null left out.
 */
function applyGuarded(
  qb: Knex.QueryBuilder,
  b: Extract<BoundFilter, { kind: 'compare' }>,
  nulls: StoredNulls,
  value: SlotValue,
): void {
  qb.where(b.column, b.op, value(b.slot));
  if (nulls.kind === 'in') qb.whereNotIn(b.column, nulls.values as Knex.Value[]);
  else qb.whereIn(b.column, nulls.values as Knex.Value[]);
}

/**
 * ANDs a bound filter onto `qb`, taking parameter values from `value`. `underNot`: an enclosing
 * group is negated.
 */
export function applyBound(
  qb: Knex.QueryBuilder,
  b: BoundFilter,
  dialect: SqlDialect,
  value: SlotValue,
  underNot = false,
): void {
  if (
    (b.kind === 'null' || b.kind === 'compare' || b.kind === 'in') &&
    b.nulls &&
    needsApiValue(b, underNot)
  ) {
    applyOverApiValue(qb, b, b.nulls, value);
    return;
  }
  if (b.kind === 'compare' && b.nulls && b.op !== '=') {
    applyGuarded(qb, b, b.nulls, value);
    return;
  }
  switch (b.kind) {
    case 'null':
      if (b.negate) qb.whereNotNull(b.column);
      else qb.whereNull(b.column);
      return;
    case 'compare':
      if (b.negate) qb.whereNot(b.column, b.op, value(b.slot));
      else qb.where(b.column, b.op, value(b.slot));
      return;
    case 'in': {
      const list = b.slots.map(value);
      if (list.length === 0) qb.whereRaw(b.negate ? '1 = 1' : '1 = 0');
      else if (b.negate) qb.whereNotIn(b.column, list);
      else qb.whereIn(b.column, list);
      return;
    }
    case 'like':
      if (b.insensitive) dialect.whereILike(qb, b.column, value(b.slot) as string, b.negate);
      else if (b.negate) qb.whereNot(b.column, 'like', value(b.slot));
      else qb.where(b.column, 'like', value(b.slot));
      return;
    case 'group': {
      const group = (sub: Knex.QueryBuilder) => {
        for (const item of b.items) {
          const add = (inner: Knex.QueryBuilder) =>
            applyBound(inner, item, dialect, value, underNot || b.negate);
          if (b.or) sub.orWhere(add);
          else sub.where(add);
        }
      };
      if (b.negate) qb.whereNot(group);
      else qb.where(group);
      return;
    }
    default: {
      const never: never = b;
      throw new TypeError(`unknown bound filter ${JSON.stringify(never)}`);
    }
  }
}

/** ANDs `filter` onto `qb`. */
export function applyFilter(
  qb: Knex.QueryBuilder,
  filter: Filter,
  lookup: FieldLookup,
  dialect: SqlDialect,
): void {
  const params: Knex.Value[] = [];
  applyBound(qb, bindFilter(filter, lookup, params), dialect, (slot) => params[slot]!);
}

export interface OrderTerm {
  readonly field: MappedField;
  readonly desc: boolean;
}

/**
 * ORDER BY with NULLs sorting as the largest value in both directions (keyset relies on it).
 * Not knex's `nulls` argument: on MySQL and SQLite it replaces the column by its IS NULL test.
 */
export function applyOrder(qb: Knex.QueryBuilder, terms: readonly OrderTerm[], dialect: SqlDialect): void {
  for (const t of terms) {
    const dir = t.desc ? 'desc' : 'asc';
    if (t.field.columnNullable && !dialect.nullsSortHigh)
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
  const nullable = t.field.columnNullable;
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
