// Query parameters of GET /<resource> (and select/embed of GET /<resource>/<key>) → a typed request.
// Reserved: limit, cursor, order, select, embed; every other parameter is a filter on an API field.
import {
  filterFields,
  parseFilterParam,
  QuerySyntaxError,
  type Filter,
} from '../resources/filter-grammar.js';
import type { OrderTerm } from '../resources/query-filters.js';
import type { MappedField, ResourceMapping } from '../core/mapping.js';

export const reservedParams = ['limit', 'cursor', 'order', 'select', 'embed'] as const;

export interface ListParams {
  readonly filters: Filter[];
  readonly order: OrderTerm[];
  readonly limit: number;
  readonly cursor: string | undefined;
  /** Fields to return (all visible ones when `select` is absent). */
  readonly fields: readonly MappedField[];
  readonly embed: string[];
}

export interface ListLimits {
  readonly defaultLimit: number;
  readonly maxLimit: number;
}

function one(params: URLSearchParams, name: string): string | undefined {
  const all = params.getAll(name);
  if (all.length > 1) throw new QuerySyntaxError(`${name}: give it once`, name);
  return all[0];
}

function names(text: string, param: string): string[] {
  const list = text.split(',').map((s) => s.trim());
  if (list.some((s) => s === ''))
    throw new QuerySyntaxError(`${param}: empty name in a comma-separated list`, param);
  return list;
}

/** Resolves `name` among the fields visible to the caller, or throws a 400 naming the parameter. */
export function visibleField(
  mapping: ResourceMapping,
  hidden: ReadonlySet<string>,
  name: string,
  param: string,
): MappedField {
  const f = hidden.has(name) ? undefined : mapping.field(name);
  if (!f) throw new QuerySyntaxError(`${param}: unknown field "${name}" on ${mapping.name}`, param);
  return f;
}

export function parseSelect(
  params: URLSearchParams,
  mapping: ResourceMapping,
  hidden: ReadonlySet<string>,
): readonly MappedField[] {
  const select = one(params, 'select');
  if (select === undefined || select === '*')
    return hidden.size === 0 ? mapping.allFields : mapping.allFields.filter((f) => !hidden.has(f.name));
  return [...new Set(names(select, 'select'))].map((n) => visibleField(mapping, hidden, n, 'select'));
}

export function parseEmbed(params: URLSearchParams, relations: readonly string[]): string[] {
  const embed = one(params, 'embed');
  if (embed === undefined) return [];
  const list = [...new Set(names(embed, 'embed'))];
  for (const r of list)
    if (!relations.includes(r))
      throw new QuerySyntaxError(
        `embed: no relation "${r}" (have: ${relations.join(', ') || 'none'})`,
        'embed',
      );
  return list;
}

export function parseListParams(
  params: URLSearchParams,
  mapping: ResourceMapping,
  hidden: ReadonlySet<string>,
  relations: readonly string[],
  limits: ListLimits,
): ListParams {
  const limitText = one(params, 'limit');
  let limit = limits.defaultLimit;
  if (limitText !== undefined) {
    if (!/^\d{1,9}$/.test(limitText) || Number(limitText) < 1)
      throw new QuerySyntaxError(`limit: expected a whole number from 1 to ${limits.maxLimit}`, 'limit');
    limit = Number(limitText);
    if (limit > limits.maxLimit) throw new QuerySyntaxError(`limit: at most ${limits.maxLimit}`, 'limit');
  }

  const order: OrderTerm[] = [];
  const orderText = one(params, 'order');
  if (orderText !== undefined)
    for (const term of names(orderText, 'order')) {
      const m = /^([^.]+)(?:\.(asc|desc))?$/.exec(term);
      if (!m)
        throw new QuerySyntaxError(
          `order: expected field, field.asc or field.desc, got ${JSON.stringify(term)}`,
          'order',
        );
      const field = visibleField(mapping, hidden, m[1]!, 'order');
      if (order.some((t) => t.field === field))
        throw new QuerySyntaxError(`order: ${field.name} appears twice`, 'order');
      order.push({ field, desc: m[2] === 'desc' });
    }

  const filters: Filter[] = [];
  for (const [name, value] of params) {
    if ((reservedParams as readonly string[]).includes(name)) continue;
    const filter = parseFilterParam(name, value);
    for (const f of filterFields(filter)) visibleField(mapping, hidden, f, name);
    filters.push(filter);
  }

  const cursor = one(params, 'cursor');
  return {
    filters,
    order,
    limit,
    cursor: cursor === '' ? undefined : cursor,
    fields: parseSelect(params, mapping, hidden),
    embed: parseEmbed(params, relations),
  };
}

/** `<key>` path text → API key values: parts split on `,` before percent-decoding, each through its codec. */
export function parseKeyText(raw: string, mapping: ResourceMapping): unknown[] {
  const parts = raw.split(',');
  if (parts.length !== mapping.key.length)
    throw new QuerySyntaxError(
      `key: expected ${mapping.key.length} comma-separated value(s): ${mapping.key.map((k) => k.name).join(',')}`,
      'key',
    );
  return parts.map((p, i) => {
    let text: string;
    try {
      text = decodeURIComponent(p);
    } catch {
      throw new QuerySyntaxError('key: bad percent-encoding', 'key');
    }
    const f = mapping.key[i]!;
    try {
      return f.codec.parseText(text);
    } catch (err) {
      throw new QuerySyntaxError(`key ${f.name}: ${(err as Error).message}`, 'key');
    }
  });
}
