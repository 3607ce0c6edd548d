// A resource mapping: API field names ↔ legacy columns through codecs, plus the zod schemas built
// from it (read shape, create/replace/patch bodies) that validate requests and feed OpenAPI.
import { z } from 'zod';
import { createCodec, type Codec, type CodecName, type DbValue } from './codecs.js';
import { compileConverter, loopConverter, type RowConverter } from './row-converter.js';

/** The config of one field, structurally (src/config/api.ts produces it). */
export interface FieldSpec {
  readonly column: string;
  readonly codec: CodecName;
  readonly options: Readonly<Record<string, unknown>>;
  readonly nullable: boolean;
  readonly readOnly: boolean;
  readonly generated: boolean;
  readonly description?: string | undefined;
}

export interface ResourceSpec {
  readonly table: string;
  readonly key: readonly string[];
  readonly fields: Readonly<Record<string, FieldSpec>>;
  readonly description?: string | undefined;
}

export interface MappedField {
  readonly name: string;
  readonly column: string;
  readonly codec: Codec;
  readonly spec: FieldSpec;
}

export interface ResourceSchemas {
  /** A row as the API returns it. */
  readonly read: z.ZodObject;
  /** POST body. */
  readonly create: z.ZodObject;
  /** PUT body: every writable field (nullable ones may be left out and become null). */
  readonly replace: z.ZodObject;
  /** PATCH body: any writable fields. */
  readonly patch: z.ZodObject;
}

/** Compiled converters kept per resource (`select` lists are caller-chosen, so bounded). */
const maxConverters = 256;

export class ResourceMapping {
  readonly fields: ReadonlyMap<string, MappedField>;
  readonly key: readonly MappedField[];
  readonly schema: string | undefined;
  readonly tableName: string;
  private readonly schemaCache = new Map<string, ResourceSchemas>();
  private readonly converters = new Map<string, RowConverter>();
  private allConverter: RowConverter | undefined;
  /** Every field, in mapping order (one shared list: `converter` knows it without a lookup). */
  readonly allFields: readonly MappedField[];

  constructor(
    readonly name: string,
    readonly spec: ResourceSpec,
  ) {
    const fields = new Map<string, MappedField>();
    for (const [fieldName, f] of Object.entries(spec.fields))
      fields.set(fieldName, {
        name: fieldName,
        column: f.column,
        codec: createCodec(f.codec, f.options),
        spec: f,
      });
    this.fields = fields;
    this.allFields = [...fields.values()];
    this.key = spec.key.map((k) => {
      const f = fields.get(k);
      if (!f) throw new RangeError(`resource ${name}: key field ${k} is not mapped`);
      return f;
    });
    const dot = spec.table.indexOf('.');
    this.schema = dot > 0 ? spec.table.slice(0, dot) : undefined;
    this.tableName = dot > 0 ? spec.table.slice(dot + 1) : spec.table;
  }

  field(name: string): MappedField | undefined {
    return this.fields.get(name);
  }

  /** Database row → API object, keeping only `visible` fields when given (in their order). */
  toApi(row: Readonly<Record<string, unknown>>, visible?: readonly MappedField[]): Record<string, unknown> {
    return this.converter(visible)(row);
  }

  /**
   * `toApi` for one list of fields (all when absent), compiled once per list and kept: take it
   * once per request and call it per row. Past `maxConverters` lists, the rest use a plain loop.
   */
  converter(visible: readonly MappedField[] = this.allFields): RowConverter {
    if (visible === this.allFields && this.allConverter) return this.allConverter;
    let key = '';
    for (const f of visible) key += `${f.name},`;
    let fn = this.converters.get(key);
    if (!fn) {
      if (this.converters.size >= maxConverters) return loopConverter(visible);
      fn = compileConverter(visible);
      this.converters.set(key, fn);
    }
    if (visible === this.allFields) this.allConverter = fn;
    return fn;
  }

  /** Validated API body (any subset of fields) → column values. */
  toDb(body: Readonly<Record<string, unknown>>): Record<string, DbValue> {
    const out: Record<string, DbValue> = {};
    for (const [k, v] of Object.entries(body)) {
      const f = this.fields.get(k);
      if (!f || v === undefined) continue;
      out[f.column] = v === null ? null : f.codec.encode(v);
    }
    return out;
  }

  /** Key values (API form) → column values. */
  keyToDb(values: readonly unknown[]): Record<string, DbValue> {
    const out: Record<string, DbValue> = {};
    this.key.forEach((f, i) => (out[f.column] = f.codec.encode(values[i])));
    return out;
  }

  /** Schemas for a caller that must not see `hidden` fields. */
  schemas(hidden: ReadonlySet<string> = new Set()): ResourceSchemas {
    const cacheKey = [...hidden].sort().join(',');
    let s = this.schemaCache.get(cacheKey);
    if (!s) {
      s = this.buildSchemas(hidden);
      this.schemaCache.set(cacheKey, s);
    }
    return s;
  }

  private buildSchemas(hidden: ReadonlySet<string>): ResourceSchemas {
    const read: Record<string, z.ZodType> = {};
    const create: Record<string, z.ZodType> = {};
    const replace: Record<string, z.ZodType> = {};
    const patch: Record<string, z.ZodType> = {};
    for (const f of this.fields.values()) {
      if (hidden.has(f.name)) continue;
      let base: z.ZodType = f.codec.schema;
      if (f.spec.description) base = base.describe(f.spec.description);
      const value = f.spec.nullable ? base.nullable() : base;
      read[f.name] = f.spec.readOnly ? value.meta({ readOnly: true }) : value;
      if (f.spec.readOnly) continue;
      const optional = f.spec.nullable || f.spec.generated;
      create[f.name] = optional ? value.optional() : value;
      replace[f.name] = f.spec.nullable || this.key.includes(f) ? value.optional() : value;
      patch[f.name] = value.optional();
    }
    return {
      read: z.object(read),
      create: z.strictObject(create),
      replace: z.strictObject(replace),
      patch: z.strictObject(patch),
    };
  }
}
