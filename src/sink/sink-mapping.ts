// Where a source table lands in a sink's target and how its rows are renamed: a table with column
// renames, or a resource's fields and codecs (the API shape, so the new schema uses modern names
// and types). Pure: no database, no NATS.
import { ResourceMapping, type ResourceSpec } from '../core/mapping.js';
import type { SinkConfig } from '../config/sinks.js';

type Row = Record<string, unknown>;

export interface TargetTable {
  /** The target table as knex takes it (`schema.table` or `table`). */
  readonly table: string;
  readonly schema: string | undefined;
  readonly name: string;
  /** conflicts newerWins: the target column holding the row's last-change time, if configured. */
  readonly changedAt: string | undefined;
  /**
   * An event's row image (source column names, event values) → target columns. Columns the source
   * did not send (`unavailable`) are left out, so an update never overwrites them with null.
   */
  row(image: Readonly<Row>, unavailable?: readonly string[]): Row;
  /** The event's key (source column names) → target key columns and values. */
  key(key: Readonly<Row>): Row;
  /** The source columns of the key, given the event's key object (to compare before/after images). */
  sourceKeyColumns(key: Readonly<Row>): readonly string[];
}

function splitTable(ref: string): { schema: string | undefined; name: string } {
  const dot = ref.indexOf('.');
  return dot > 0 ? { schema: ref.slice(0, dot), name: ref.slice(dot + 1) } : { schema: undefined, name: ref };
}

function renamedTable(
  ref: string,
  columns: Readonly<Record<string, string>>,
  exclude: readonly string[],
  changedAt?: string,
): TargetTable {
  const skip = new Set(exclude);
  const rename = (image: Readonly<Row>): Row => {
    const out: Row = {};
    for (const c in image) if (!skip.has(c)) out[columns[c] ?? c] = image[c];
    return out;
  };
  return {
    table: ref,
    ...splitTable(ref),
    changedAt,
    row: rename,
    key: rename,
    sourceKeyColumns: (key) => Object.keys(key),
  };
}

function resourceTable(ref: string, mapping: ResourceMapping, changedAt?: string): TargetTable {
  const fields = mapping.allFields;
  return {
    table: ref,
    ...splitTable(ref),
    changedAt,
    row(image, unavailable) {
      const out: Row = {};
      for (const f of fields) {
        if (!Object.hasOwn(image, f.column) || unavailable?.includes(f.column)) continue;
        const v = image[f.column];
        out[f.name] = v === null ? null : f.codec.decode(v);
      }
      return out;
    },
    key(key) {
      const out: Row = {};
      for (const f of mapping.key) out[f.name] = f.codec.decode(key[f.column]);
      return out;
    },
    sourceKeyColumns: () => mapping.key.map((f) => f.column),
  };
}

export class SinkMapping {
  readonly #tables = new Map<string, TargetTable | null>();
  readonly #cfg: SinkConfig;
  readonly #resources: Readonly<Record<string, ResourceSpec>>;

  constructor(cfg: SinkConfig, resources: Readonly<Record<string, ResourceSpec>> = {}) {
    this.#cfg = cfg;
    this.#resources = resources;
  }

  /** Where `schema.table` of the source lands; null when the sink does not take that table. */
  target(schema: string, table: string): TargetTable | null {
    const id = `${schema}.${table}`;
    let t = this.#tables.get(id);
    if (t === undefined) {
      t = this.#build(id, table);
      this.#tables.set(id, t);
    }
    return t;
  }

  /** Every configured source table (`schema.table`) with its target (verify, sink init). */
  configured(): { source: string; target: TargetTable }[] {
    return Object.keys(this.#cfg.tables).map((source) => {
      const { schema, name } = splitTable(source);
      return { source, target: this.target(schema ?? '', name)! };
    });
  }

  /** The resource mapping a table lands through, if any. */
  resourceOf(source: string): ResourceMapping | null {
    const t = this.#cfg.tables[source];
    if (!t || !('resource' in t)) return null;
    return new ResourceMapping(t.resource, this.#resources[t.resource]!);
  }

  #build(id: string, table: string): TargetTable | null {
    const t = this.#cfg.tables[id];
    if (t === undefined)
      return Object.keys(this.#cfg.tables).length === 0 ? renamedTable(table, {}, []) : null;
    if ('resource' in t) {
      const spec = this.#resources[t.resource];
      if (!spec) throw new RangeError(`sink ${this.#cfg.name}: no resource ${t.resource}`);
      return resourceTable(t.table ?? t.resource, new ResourceMapping(t.resource, spec), t.changedAt);
    }
    return renamedTable(t.table ?? table, t.columns, t.exclude, t.changedAt);
  }
}
