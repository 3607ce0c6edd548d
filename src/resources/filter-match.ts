// Filter trees (API names) evaluated in memory on rows in API shape: what webhooks' `filter`, the
// change feed's query filters and row filters use on resource events, where there is no SQL to
// compile to. The meaning is the SQL one the REST list gives (query-filters.ts): values go through
// the field's codec, a comparison with null is unknown (so neither `eq` nor `not.eq` matches a
// null), and `like` takes `*` as its wildcard.
import { CodecError } from '../core/codecs.js';
import type { MappedField } from '../core/mapping.js';
import { parseFilterParam, QuerySyntaxError, type ComparisonOp, type Filter } from './filter-grammar.js';
import type { FieldLookup } from './query-filters.js';

/** A compiled filter: true when the row matches. */
export type RowPredicate = (row: Readonly<Record<string, unknown>>) => boolean;

/** Three-valued, as SQL: null is "unknown", and NOT unknown is still unknown. */
type Truth = boolean | null;
type Test = (row: Readonly<Record<string, unknown>>) => Truth;

const decimalText = /^-?\d+(\.\d+)?$/;

function parseValue(f: MappedField, text: string): unknown {
  try {
    return f.codec.parseText(text);
  } catch (err) {
    if (err instanceof CodecError) throw new QuerySyntaxError(`${f.name}: ${err.message}`, f.name);
    throw err;
  }
}

/** Compares two decimal strings exactly (no float rounding of long digits). */
function compareDecimal(a: string, b: string): number {
  const parse = (t: string) => {
    const negative = t.startsWith('-');
    const [int = '', frac = ''] = t.replace(/^-/, '').split('.');
    return { negative, int: int.replace(/^0+/, ''), frac: frac.replace(/0+$/, '') };
  };
  const x = parse(a);
  const y = parse(b);
  const width = Math.max(x.frac.length, y.frac.length);
  const digitsX = x.int + x.frac.padEnd(width, '0');
  const digitsY = y.int + y.frac.padEnd(width, '0');
  const signX = /^0*$/.test(digitsX) ? 0 : x.negative ? -1 : 1;
  const signY = /^0*$/.test(digitsY) ? 0 : y.negative ? -1 : 1;
  if (signX !== signY) return signX < signY ? -1 : 1;
  if (signX === 0) return 0;
  const magnitude =
    x.int.length !== y.int.length
      ? x.int.length - y.int.length
      : digitsX < digitsY
        ? -1
        : digitsX > digitsY
          ? 1
          : 0;
  return signX * Math.sign(magnitude);
}

/** Orders two non-null API values of one field; null when they cannot be ordered. */
function compare(f: MappedField, a: unknown, b: unknown): number | null {
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === 'boolean' && typeof b === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (typeof a === 'string' && typeof b === 'string') {
    if (!f.codec.textual && decimalText.test(a) && decimalText.test(b)) return compareDecimal(a, b);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'object' && typeof b === 'object')
    return JSON.stringify(a) === JSON.stringify(b) ? 0 : null;
  return null;
}

function likeRegex(pattern: string, insensitive: boolean): RegExp {
  const body = pattern
    .split('*')
    .map((part) =>
      part.replace(/[.+?^${}()|[\]\\%_]/g, (c) => (c === '%' ? '.*' : c === '_' ? '.' : `\\${c}`)),
    )
    .join('.*');
  return new RegExp(`^${body}$`, insensitive ? 'is' : 's');
}

function condition(f: MappedField, op: ComparisonOp, value: string | readonly string[]): Test {
  const name = f.name;
  const cmp = (text: string, accept: (c: number) => boolean): Test => {
    const want = parseValue(f, text);
    return (row) => {
      const v = row[name];
      if (v === null || v === undefined) return null;
      const c = compare(f, v, want);
      return c === null ? false : accept(c);
    };
  };
  switch (op) {
    case 'is':
      if (value === 'null') return (row) => row[name] === null || row[name] === undefined;
      return cmp(value as string, (c) => c === 0);
    case 'eq':
      return cmp(value as string, (c) => c === 0);
    case 'neq':
      return cmp(value as string, (c) => c !== 0);
    case 'gt':
      return cmp(value as string, (c) => c > 0);
    case 'gte':
      return cmp(value as string, (c) => c >= 0);
    case 'lt':
      return cmp(value as string, (c) => c < 0);
    case 'lte':
      return cmp(value as string, (c) => c <= 0);
    case 'in': {
      const tests = (value as readonly string[]).map((v) => cmp(v, (c) => c === 0));
      return (row) => {
        let out: Truth = false;
        for (const t of tests) {
          const r = t(row);
          if (r === true) return true;
          if (r === null) out = null;
        }
        return out;
      };
    }
    case 'like':
    case 'ilike': {
      if (!f.codec.textual) throw new QuerySyntaxError(`${name}: ${op} applies to text fields only`, name);
      const re = likeRegex(value as string, op === 'ilike');
      return (row) => {
        const v = row[name];
        if (v === null || v === undefined) return null;
        return typeof v === 'string' ? re.test(v) : false;
      };
    }
    default: {
      const never: never = op;
      throw new QuerySyntaxError(`unknown operator ${String(never)}`, name);
    }
  }
}

function not(t: Test): Test {
  return (row) => {
    const r = t(row);
    return r === null ? null : !r;
  };
}

function compile(filter: Filter, lookup: FieldLookup): Test {
  if (filter.kind === 'cond') {
    const f = lookup(filter.field);
    if (!f) throw new QuerySyntaxError(`unknown field "${filter.field}"`, filter.field);
    const t = condition(f, filter.op, filter.value);
    return filter.negate ? not(t) : t;
  }
  const items = filter.items.map((item) => compile(item, lookup));
  const or = filter.kind === 'or';
  const group: Test = (row) => {
    let out: Truth = !or;
    for (const t of items) {
      const r = t(row);
      if (r === or) return or;
      if (r === null) out = null;
    }
    return out;
  };
  return filter.negate ? not(group) : group;
}

/**
 * Compiles filters (ANDed, as a list's query parameters are) into a predicate on API-shaped rows.
 * Unknown fields, operators and values that the field's codec refuses throw QuerySyntaxError at
 * compile time, as the REST list does, so a bad webhook filter is a config error and a bad feed
 * query a 400.
 */
export function compileRowPredicate(filters: readonly Filter[], lookup: FieldLookup): RowPredicate {
  const tests = filters.map((f) => compile(f, lookup));
  return (row) => tests.every((t) => t(row) === true);
}

/**
 * A filter written as a query string (`department=eq.ENG&salary=gte.1000`), as a webhook's
 * `filter` is: every parameter a filter, ANDed.
 */
export function parseFilterQuery(query: string): Filter[] {
  return [...new URLSearchParams(query)].map(([name, value]) => parseFilterParam(name, value));
}
