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

/**
 * What the database declares about a column (introspected once at start, `src/sql/introspector.ts`
 * gives it): the mapping takes nullability, length, precision and scale from here, and the
 * config can only narrow them.
 */
export interface ColumnFacts {
  /** Lower-case type name (char, varchar, numeric, int4, ...). */
  readonly type: string;
  readonly nullable: boolean;
  readonly length?: number | undefined;
  readonly precision?: number | undefined;
  readonly scale?: number | undefined;
  readonly generated: boolean;
  /** The column has a DEFAULT: an insert may leave it out. */
  readonly hasDefault?: boolean | undefined;
}

export interface MappedField {
  readonly name: string;
  readonly column: string;
  readonly codec: Codec;
  readonly spec: FieldSpec;
  /** The column may hold SQL NULL (the database says so, or the config when it was not introspected). */
  readonly columnNullable: boolean;
  /** A response may show null: a NULL column, or a codec that reads some stored values as null. */
  readonly readNullable: boolean;
  /** A write may send null: the column allows it and the config does not forbid it. */
  readonly writeNullable: boolean;
  /** POST may leave it out: nullable, generated, or with a database default. */
  readonly optionalOnCreate: boolean;
  /** The codec's schema narrowed by the column (CHAR/VARCHAR length, DECIMAL precision and scale). */
  readonly schema: z.ZodType;
}

/** `t` or null; z.unknown() (json) already includes null. */
const orNull = (t: z.ZodType): z.ZodType => (t instanceof z.ZodUnknown ? t : t.nullable());

const exactDecimal = /^(decimal|numeric|number|dec)$/;

/** The codec's value schema, narrowed by what the column can hold. */
function columnSchema(codec: Codec, codecName: string, col: ColumnFacts | undefined): z.ZodType {
  const base = codec.schema;
  if (!col) return base;
  if (codec.textual && col.length !== undefined && col.length > 0 && base instanceof z.ZodString) {
    // string and trim schemas are a bare string with an optional max: keep the smaller limit.
    const max = base.maxLength;
    return max !== null && max <= col.length ? base : z.string().max(col.length);
  }
  if (codecName === 'decimal' && exactDecimal.test(col.type) && col.precision !== undefined) {
    const scale = col.scale ?? 0;
    const whole = Math.max(1, col.precision - scale);
    const frac = scale > 0 ? `(\\.\\d{1,${scale}})?` : '';
    return z
      .string()
      .regex(
        new RegExp(`^-?\\d{1,${whole}}${frac}$`),
        `expected a decimal string with at most ${whole} digits before the point and ${scale} after`,
      );
  }
  return base;
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

  /**
   * `columns`: the table's columns as the database declares them (by column name), when they
   * could be read; without them the config alone says what is nullable.
   */
  constructor(
    readonly name: string,
    readonly spec: ResourceSpec,
    columns?: ReadonlyMap<string, ColumnFacts>,
  ) {
    const fields = new Map<string, MappedField>();
    for (const [fieldName, f] of Object.entries(spec.fields)) {
      const codec = createCodec(f.codec, f.options);
      const col = columns?.get(f.column);
      const columnNullable = col ? col.nullable : f.nullable;
      const writeNullable = f.nullable && columnNullable;
      fields.set(fieldName, {
        name: fieldName,
        column: f.column,
        codec,
        spec: f,
        columnNullable,
        readNullable: columnNullable || codec.decodesNull,
        writeNullable,
        optionalOnCreate:
          writeNullable || f.generated || (col?.generated ?? false) || (col?.hasDefault ?? false),
        schema: columnSchema(codec, f.codec, col),
      });
    }
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
      const described = (t: z.ZodType) => (f.spec.description ? t.describe(f.spec.description) : t);
      const readBase = described(f.codec.readSchema ?? f.schema);
      const readValue = f.readNullable ? orNull(readBase) : readBase;
      read[f.name] = f.spec.readOnly ? readValue.meta({ readOnly: true }) : readValue;
      if (f.spec.readOnly) continue;
      const writeBase = described(f.schema);
      const value = f.writeNullable ? orNull(writeBase) : writeBase;
      create[f.name] = f.optionalOnCreate ? value.optional() : value;
      // PUT sets the fields it leaves out to null: only nullable ones may be left out.
      replace[f.name] = f.writeNullable || this.key.includes(f) ? value.optional() : value;
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
