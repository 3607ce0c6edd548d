// PostgREST's horizontal filter grammar on API field names (docs/rest-api.md):
//   ?status=eq.OPEN   ?name=not.like.AC*   ?id=in.(a,b,"c,d")   ?deleted=is.null
//   ?or=(a.eq.1,b.gt.2,and(c.lt.3,d.is.null))   ?not.and=(...)
// Parsing yields a tree on API names; nothing here knows columns or SQL.
import { BridgeError } from '../core/errors.js';

export const comparisonOps = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'like', 'ilike', 'in', 'is'] as const;
export type ComparisonOp = (typeof comparisonOps)[number];

export type Filter =
  | {
      readonly kind: 'cond';
      readonly field: string;
      readonly op: ComparisonOp;
      readonly negate: boolean;
      readonly value: string | readonly string[];
    }
  | { readonly kind: 'and' | 'or'; readonly negate: boolean; readonly items: readonly Filter[] };

/** A query parameter cannot be understood; always a 400. */
export class QuerySyntaxError extends BridgeError {
  override readonly code = 'QUERY_INVALID';
  constructor(
    message: string,
    readonly parameter: string,
  ) {
    super(message);
  }
}

const maxDepth = 8;
const maxItems = 100;

/** Splits on top-level commas, honouring double quotes (with \" escapes) and parentheses. */
export function splitTopLevel(text: string, param: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '\\' && i + 1 < text.length) {
        current += ch + text[++i]!;
        continue;
      }
      if (ch === '"') quoted = false;
      current += ch;
      continue;
    }
    if (ch === '"') quoted = true;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth < 0) throw new QuerySyntaxError(`unbalanced ")" in ${param}`, param);
    } else if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  if (quoted) throw new QuerySyntaxError(`unterminated quote in ${param}`, param);
  if (depth !== 0) throw new QuerySyntaxError(`unbalanced "(" in ${param}`, param);
  parts.push(current);
  if (parts.length > maxItems)
    throw new QuerySyntaxError(`too many items in ${param} (at most ${maxItems})`, param);
  return parts;
}

/** `"a,b"` → `a,b`; bare values are taken as they are. */
export function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v;
}

function parseOperation(field: string, text: string, param: string): Filter {
  let negate = false;
  let rest = text;
  if (rest.startsWith('not.')) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  const op = (dot < 0 ? rest : rest.slice(0, dot)) as ComparisonOp;
  if (dot < 0 || !comparisonOps.includes(op))
    throw new QuerySyntaxError(
      `${param}: expected <operator>.<value> with an operator among ${comparisonOps.join(', ')}`,
      param,
    );
  const raw = rest.slice(dot + 1);
  if (op === 'in') {
    if (!raw.startsWith('(') || !raw.endsWith(')'))
      throw new QuerySyntaxError(`${param}: in takes a list like in.(a,b)`, param);
    const inner = raw.slice(1, -1);
    const items = inner === '' ? [] : splitTopLevel(inner, param).map(unquote);
    return { kind: 'cond', field, op, negate, value: items };
  }
  if (op === 'is' && !['null', 'true', 'false'].includes(raw))
    throw new QuerySyntaxError(`${param}: is takes null, true or false`, param);
  return { kind: 'cond', field, op, negate, value: unquote(raw) };
}

function parseLogic(kind: 'and' | 'or', negate: boolean, text: string, param: string, depth: number): Filter {
  if (depth > maxDepth)
    throw new QuerySyntaxError(`${param}: nested too deeply (at most ${maxDepth})`, param);
  if (!text.startsWith('(') || !text.endsWith(')'))
    throw new QuerySyntaxError(`${param}: expected (condition,condition,...)`, param);
  const items = splitTopLevel(text.slice(1, -1), param).map((item) =>
    parseItem(item.trim(), param, depth + 1),
  );
  if (items.length === 0) throw new QuerySyntaxError(`${param}: empty group`, param);
  return { kind, negate, items };
}

/** One item of an or/and list: `field.op.value`, `field.not.op.value`, `and(...)`, `not.or(...)`. */
function parseItem(item: string, param: string, depth: number): Filter {
  const logic = /^(not\.)?(and|or)(\(.*\))$/s.exec(item);
  if (logic) return parseLogic(logic[2] as 'and' | 'or', logic[1] !== undefined, logic[3]!, param, depth);
  const dot = item.indexOf('.');
  if (dot <= 0)
    throw new QuerySyntaxError(`${param}: expected field.operator.value, got ${JSON.stringify(item)}`, param);
  return parseOperation(item.slice(0, dot), item.slice(dot + 1), param);
}

/** One query parameter → a filter. `name` is a field, or `or`/`and`/`not.or`/`not.and`. */
export function parseFilterParam(name: string, value: string): Filter {
  const logic = /^(not\.)?(and|or)$/.exec(name);
  if (logic) return parseLogic(logic[2] as 'and' | 'or', logic[1] !== undefined, value, name, 1);
  return parseOperation(name, value, name);
}

/** Every field a filter tree names. */
export function filterFields(f: Filter, out: string[] = []): string[] {
  if (f.kind === 'cond') out.push(f.field);
  else for (const i of f.items) filterFields(i, out);
  return out;
}
