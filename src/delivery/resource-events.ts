// Raw change event → resource events: the table's columns become the resource's API shape through
// the same mapping (fields, codecs) that serves it over REST. Pure: no I/O, so the router, tests and
// anything else that needs "the raw stream mapped through the resources" get the same answer.
//
// Rules (README "Resource events"):
// - r → `snapshot`, c → `created`, d → `deleted`, t → one `truncated` (key null, no subject);
// - u → `updated`, except: an update whose visible fields all keep their API values yields
//   nothing; an update that changes the key yields `deleted` (old key) then `created` (new key);
// - fields hidden from every role that may read the resource are left out;
// - a column the source did not send (`source.unavailable`, PostgreSQL's unchanged TOAST) is
//   unchanged by definition: its value is taken from the before image when the source sent one,
//   else the field is left out of `after` and named in `data.unavailable` (never a made-up value);
// - a before image that carries only some columns (the key) gives only those fields.
import { BridgeError } from '../core/errors.js';
import type { ChangeEvent } from '../core/change-event.js';
import { ResourceMapping, type MappedField, type ResourceSpec } from '../core/mapping.js';
import type { RowConverter } from '../core/row-converter.js';
import {
  keySubject,
  resourceEventId,
  resourceSubject,
  type ResourceEvent,
  type ResourceEventType,
} from './resource-event.js';

/** A raw event that cannot become a resource event (a key column missing, a codec that threw). */
export class ResourceMappingError extends BridgeError {
  override readonly code = 'RESOURCE_MAPPING';
}

/** One resource event with where it goes and the key the webhook dispatcher orders by. */
export interface RoutedEvent {
  readonly subject: string;
  readonly event: ResourceEvent;
  /** The key in API form (the `Sluice-Key` header); null for `truncated`. */
  readonly key: Record<string, unknown> | null;
}

/** What decides which fields are hidden from everyone: the resource's `access` and `hiddenFields`. */
export interface AccessRules {
  readonly access?: Readonly<Record<string, readonly string[]>> | undefined;
  readonly hiddenFields: Readonly<Record<string, readonly string[]>>;
}

/**
 * Fields no reader of the resource ever sees: those hidden for every role that grants `read`
 * (a caller holding all those roles sees everything not in this set; see ResourcePolicy.hidden).
 * Without `access` rules nothing is hidden, and so when no role may read at all.
 */
export function hiddenFromEveryone(rules: AccessRules): ReadonlySet<string> {
  if (!rules.access) return new Set();
  const readers = Object.entries(rules.access)
    .filter(([, actions]) => actions.includes('read'))
    .map(([role]) => new Set(rules.hiddenFields[role] ?? []));
  if (readers.length === 0) return new Set();
  return new Set([...readers[0]!].filter((f) => readers.every((r) => r.has(f))));
}

type Row = Readonly<Record<string, unknown>>;

const same = (a: unknown, b: unknown): boolean =>
  a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

/** Maps the raw events of one table to the events of one resource. */
export class ResourceEventMapper {
  readonly mapping: ResourceMapping;
  readonly #prefix: string;
  readonly #visible: readonly MappedField[];
  readonly #convert: RowConverter;
  readonly #subjects = new Map<ResourceEventType, string>();

  constructor(
    readonly resource: string,
    spec: ResourceSpec | ResourceMapping,
    prefix: string,
    readonly hidden: ReadonlySet<string> = new Set(),
  ) {
    this.mapping = spec instanceof ResourceMapping ? spec : new ResourceMapping(resource, spec);
    this.#prefix = prefix;
    this.#visible = this.mapping.allFields.filter((f) => !hidden.has(f.name));
    this.#convert = this.mapping.converter(this.#visible);
  }

  /** The NATS subject of one type of this resource's events. */
  subject(type: ResourceEventType): string {
    let s = this.#subjects.get(type);
    if (s === undefined) {
      s = resourceSubject(this.#prefix, this.resource, type);
      this.#subjects.set(type, s);
    }
    return s;
  }

  /**
   * The resource events of one raw event (0, 1 or 2), in the order they must be delivered.
   * `rawMsgId` is the raw event's Nats-Msg-Id (the events' ids derive from it); `rawKey` its
   * `Sluice-Key` (the table's key columns), used when a delete's before image lacks a key column.
   * Throws ResourceMappingError when the event cannot be mapped.
   */
  map(raw: ChangeEvent, rawMsgId: string, rawKey?: Row | null): RoutedEvent[] {
    try {
      return this.#map(raw, rawMsgId, rawKey ?? null);
    } catch (err) {
      if (err instanceof ResourceMappingError) throw err;
      throw new ResourceMappingError(
        `${this.resource}: cannot map ${raw.op} event: ${(err as Error).message ?? String(err)}`,
        { cause: err },
      );
    }
  }

  #map(raw: ChangeEvent, rawMsgId: string, rawKey: Row | null): RoutedEvent[] {
    const op = raw.op;
    switch (op) {
      case 'r':
      case 'c': {
        const after = this.#present(raw.after, 'after');
        return [this.#event(raw, rawMsgId, 0, op === 'r' ? 'snapshot' : 'created', after, null)];
      }
      case 'd': {
        const before = this.#present(raw.before, 'before');
        const keyRow = rawKey ? { ...rawKey, ...before } : before;
        return [this.#event(raw, rawMsgId, 0, 'deleted', null, before, keyRow)];
      }
      case 'u':
        return this.#update(raw, rawMsgId);
      case 't':
        return [this.#truncated(raw, rawMsgId)];
      default: {
        const never: never = op;
        throw new ResourceMappingError(`unknown op ${String(never)}`);
      }
    }
  }

  #update(raw: ChangeEvent, rawMsgId: string): RoutedEvent[] {
    const before = raw.before;
    let after = this.#present(raw.after, 'after');
    const unavailable = raw.source.unavailable;
    if (unavailable && unavailable.length > 0 && before) {
      // Unchanged TOAST: the value did not change, so the before image (when it has it) has it.
      let filled: Record<string, unknown> | null = null;
      for (const col of unavailable)
        if (!Object.hasOwn(after, col) && Object.hasOwn(before, col))
          (filled ??= { ...after })[col] = before[col];
      if (filled) after = filled;
    }
    if (before) {
      if (this.#keyChanged(before, after))
        return [
          this.#event(raw, rawMsgId, 0, 'deleted', null, before),
          this.#event(raw, rawMsgId, 1, 'created', after, null),
        ];
      if (!this.#visibleChanged(before, after)) return [];
    }
    return [this.#event(raw, rawMsgId, 0, 'updated', after, before)];
  }

  /** True when `before` carries every key column and some key value differs in API form. */
  #keyChanged(before: Row, after: Row): boolean {
    for (const f of this.mapping.key) if (!Object.hasOwn(before, f.column)) return false;
    return this.mapping.key.some(
      (f) => !same(f.codec.decode(before[f.column]), f.codec.decode(after[f.column])),
    );
  }

  /**
   * Whether a reader could see a difference: a visible field whose API value changed, or one the
   * before image does not carry (then nobody can tell it did not change). A column absent from
   * `after` is one the source did not send because it did not change.
   */
  #visibleChanged(before: Row, after: Row): boolean {
    for (const f of this.#visible) {
      if (!Object.hasOwn(after, f.column)) continue;
      if (!Object.hasOwn(before, f.column)) return true;
      if (!same(f.codec.decode(before[f.column]), f.codec.decode(after[f.column]))) return true;
    }
    return false;
  }

  #present(row: Row | null, which: 'after' | 'before'): Row {
    if (!row) throw new ResourceMappingError(`${this.resource}: the raw event has no ${which} image`);
    return row;
  }

  /** A raw row in API shape: visible fields only, and only those whose column the row carries. */
  #api(row: Row): { data: Record<string, unknown>; missing: string[] } {
    const data = this.#convert(row);
    const missing: string[] = [];
    for (const f of this.#visible)
      if (!Object.hasOwn(row, f.column)) {
        missing.push(f.name);
        delete data[f.name];
      }
    return { data, missing };
  }

  #key(row: Row): { key: Record<string, unknown>; subject: string } {
    const key: Record<string, unknown> = {};
    const values: unknown[] = [];
    for (const f of this.mapping.key) {
      if (!Object.hasOwn(row, f.column) || row[f.column] === undefined)
        throw new ResourceMappingError(`${this.resource}: key column ${f.column} is missing from the event`);
      const v = f.codec.decode(row[f.column]);
      if (v === null || v === undefined)
        throw new ResourceMappingError(`${this.resource}: key column ${f.column} decodes to null`);
      key[f.name] = v;
      values.push(v);
    }
    return { key, subject: keySubject(values) };
  }

  #event(
    raw: ChangeEvent,
    rawMsgId: string,
    part: number,
    type: Exclude<ResourceEventType, 'truncated'>,
    after: Row | null,
    before: Row | null,
    keyRow: Row | null = after ?? before,
  ): RoutedEvent {
    const { key, subject } = this.#key(keyRow!);
    const a = after ? this.#api(after) : null;
    const data: ResourceEvent['data'] = {
      key,
      after: a ? a.data : null,
      before: before ? this.#api(before).data : null,
    };
    if (a && a.missing.length > 0) data.unavailable = a.missing;
    return {
      subject: this.subject(type),
      key,
      event: {
        specversion: '1.0',
        id: resourceEventId(rawMsgId, this.resource, part),
        source: `/sluice/${raw.source.name}`,
        type: `${this.resource}.${type}`,
        subject,
        time: new Date(raw.source.ts_ms).toISOString(),
        datacontenttype: 'application/json',
        data,
      },
    };
  }

  #truncated(raw: ChangeEvent, rawMsgId: string): RoutedEvent {
    return {
      subject: this.subject('truncated'),
      key: null,
      event: {
        specversion: '1.0',
        id: resourceEventId(rawMsgId, this.resource, 0),
        source: `/sluice/${raw.source.name}`,
        type: `${this.resource}.truncated`,
        time: new Date(raw.source.ts_ms).toISOString(),
        datacontenttype: 'application/json',
        data: { key: null, after: null, before: null },
      },
    };
  }
}

/** One resource as the config names it (the shape src/config/api.ts produces). */
export interface ResourceEntry extends AccessRules {
  readonly source?: string | undefined;
  readonly table: string;
  readonly key: readonly string[];
  readonly fields: ResourceSpec['fields'];
}

/**
 * The resources of one source, looked up by the raw event's schema and table. A resource's
 * `table` without a schema matches that table name in any schema the source captures.
 */
export class SourceRoutes {
  readonly mappers: readonly ResourceEventMapper[];
  readonly #byTable = new Map<string, ResourceEventMapper[]>();
  readonly #byName = new Map<string, ResourceEventMapper[]>();
  readonly #cache = new Map<string, readonly ResourceEventMapper[]>();

  constructor(
    readonly source: string,
    resources: Readonly<Record<string, ResourceEntry>>,
    prefix: string,
  ) {
    const mappers: ResourceEventMapper[] = [];
    for (const [name, r] of Object.entries(resources)) {
      if (r.source !== source) continue;
      const m = new ResourceEventMapper(name, r, prefix, hiddenFromEveryone(r));
      mappers.push(m);
      const index = m.mapping.schema === undefined ? this.#byName : this.#byTable;
      const k = m.mapping.schema === undefined ? m.mapping.tableName : r.table;
      index.set(k, [...(index.get(k) ?? []), m]);
    }
    this.mappers = mappers;
  }

  /** The resources that map `schema.table` (often none, sometimes several), in config order. */
  for(schema: string, table: string): readonly ResourceEventMapper[] {
    const k = `${schema}.${table}`;
    let found = this.#cache.get(k);
    if (!found) {
      const list = [...(this.#byTable.get(k) ?? []), ...(this.#byName.get(table) ?? [])];
      found = this.mappers.filter((m) => list.includes(m));
      this.#cache.set(k, found);
    }
    return found;
  }
}

/** The names of the sources some resource maps. */
export function routedSources(
  resources: Readonly<Record<string, { source?: string | undefined }>>,
): string[] {
  return [...new Set(Object.values(resources).flatMap((r) => (r.source === undefined ? [] : [r.source])))];
}
