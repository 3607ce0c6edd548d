// `sluice init`: introspected tables → a starter `api` section with modern field names and codecs
// suggested from column types (and, for one-letter columns, from the values found in them).
import type { ColumnInfo, TableInfo } from '../sql/introspector.js';

export interface FieldSuggestion {
  column: string;
  codec: string;
  options?: Record<string, unknown>;
  nullable?: boolean;
  generated?: boolean;
}

/** CUST_NM → custNm, OrderDate → orderDate, "order date" → orderDate, 2nd_addr → f2ndAddr. */
export function apiName(raw: string): string {
  const words = raw
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
  const name = words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('') || 'field';
  return /^[a-z_]/i.test(name) ? name : `f${name}`;
}

const ints = /^(int|integer|int2|int4|int8|smallint|mediumint|bigint|tinyint|serial|bigserial|smallserial)$/;
const decimals = /^(decimal|numeric|money|real|float|float4|float8|double|double precision)$/;

/** A codec for a column; `values` are a few distinct stored values of short text columns. */
export function suggestCodec(c: ColumnInfo, values?: readonly (string | null)[]): FieldSuggestion {
  const base = {
    column: c.name,
    ...(c.nullable ? {} : { nullable: false }),
    ...(c.generated ? { generated: true } : {}),
  };
  const t = c.type;
  const present = (values ?? []).filter((v): v is string => v !== null).map((v) => v.trim());
  if (
    /char|text|clob|string/.test(t) &&
    !/var/.test(t) &&
    c.length === 8 &&
    /(dt|date)$/i.test(c.name) &&
    present.every((v) => /^\d{8}$/.test(v))
  )
    return { ...base, codec: 'yyyymmdd', options: { storage: 'char' } };
  const yn = (v: string) => v === 'Y' || v === 'N';
  if (
    /char/.test(t) &&
    c.length === 1 &&
    present.length > 0 &&
    (present.every(yn) || (present.includes('Y') && present.includes('N')))
  )
    // Other letters (' ', 'X') beside Y and N read as null: said in the config, not left implicit.
    return { ...base, codec: 'yn', ...(present.every(yn) ? {} : { options: { unknown: 'null' } }) };
  if (/^(n)?char(acter)?$|^bpchar$/.test(t))
    return { ...base, codec: 'trim', ...(c.length ? { options: { length: c.length } } : {}) };
  if (/char|text|clob|string|uuid|citext|enum|set/.test(t))
    return { ...base, codec: 'string', ...(c.length ? { options: { maxLength: c.length } } : {}) };
  if (ints.test(t))
    return /(dt|date)$/i.test(c.name) && !c.generated
      ? // A stored 0 ("no date") reads as null: the mapping is written out, the document says nullable.
        { ...base, codec: 'yyyymmdd', options: { nullValues: [0] } }
      : { ...base, codec: 'int' };
  if (decimals.test(t))
    return { ...base, codec: 'decimal', ...(c.scale ? { options: { scale: c.scale } } : {}) };
  if (/^bool/.test(t)) return { ...base, codec: 'boolean' };
  if (/^(timestamp|datetime)$/.test(t))
    return { ...base, codec: 'localTimestamp', options: { timeZone: 'UTC' } };
  if (/^json/.test(t)) return { ...base, codec: 'json' };
  return { ...base, codec: 'string' };
}

function unique(name: string, taken: Set<string>): string {
  let n = name;
  for (let i = 2; taken.has(n); i++) n = `${name}${i}`;
  taken.add(n);
  return n;
}

export interface StarterInput {
  readonly url: string;
  readonly tables: readonly TableInfo[];
  /** table → column → a few distinct values (short text columns). */
  readonly samples: ReadonlyMap<string, ReadonlyMap<string, readonly (string | null)[]>>;
}

export interface StarterResult {
  readonly config: { api: Record<string, unknown> };
  /** Notes for the user: tables without primary key and the key chosen for them. */
  readonly notes: string[];
}

export function buildStarterConfig(input: StarterInput): StarterResult {
  const notes: string[] = [];
  const resourceNames = new Set<string>();
  const byTable = new Map<
    string,
    { name: string; fields: Map<string, string>; resource: Record<string, unknown> }
  >();
  for (const t of input.tables) {
    const name = unique(apiName(t.name.slice(t.name.lastIndexOf('.') + 1)), resourceNames);
    const taken = new Set<string>();
    const fieldOf = new Map<string, string>();
    const fields: Record<string, FieldSuggestion> = {};
    for (const c of t.columns) {
      const f = suggestCodec(c, input.samples.get(t.name)?.get(c.name));
      const fname = unique(apiName(c.name), taken);
      fieldOf.set(c.name, fname);
      fields[fname] = f;
    }
    let keyCols = [...t.primaryKey];
    if (keyCols.length === 0) {
      keyCols = t.columns.filter((c) => !c.nullable).map((c) => c.name);
      if (keyCols.length === 0) keyCols = t.columns.map((c) => c.name);
      notes.push(
        `${t.name} has no primary key: its key was set to (${keyCols.join(', ')}); check that it is unique`,
      );
    }
    byTable.set(t.name, {
      name,
      fields: fieldOf,
      resource: { table: t.name, key: keyCols.map((k) => fieldOf.get(k)!), fields, relations: {} },
    });
  }
  for (const t of input.tables) {
    const child = byTable.get(t.name)!;
    for (const fk of t.foreignKeys) {
      const parent =
        byTable.get(fk.refTable) ?? [...byTable.entries()].find(([k]) => k.endsWith(`.${fk.refTable}`))?.[1];
      if (!parent) continue;
      const childRel = child.resource.relations as Record<string, unknown>;
      const parentRel = parent.resource.relations as Record<string, unknown>;
      const on = (
        from: typeof child,
        fromCols: readonly string[],
        to: typeof child,
        toCols: readonly string[],
      ) => Object.fromEntries(fromCols.map((c, i) => [from.fields.get(c)!, to.fields.get(toCols[i]!)!]));
      childRel[unique(parent.name, new Set(Object.keys(childRel)))] = {
        resource: parent.name,
        on: on(child, fk.columns, parent, fk.refColumns),
        kind: 'one',
      };
      parentRel[unique(child.name, new Set(Object.keys(parentRel)))] = {
        resource: child.name,
        on: on(parent, fk.refColumns, child, fk.columns),
        kind: 'many',
      };
    }
  }
  const resources = Object.fromEntries([...byTable.values()].map((r) => [r.name, r.resource]));
  for (const r of Object.values(resources))
    if (Object.keys(r.relations as object).length === 0) delete r.relations;
  return {
    config: { api: { listen: '127.0.0.1:8080', basePath: '/api', database: input.url, resources } },
    notes,
  };
}
