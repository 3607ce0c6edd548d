// Field codecs: convert a legacy column value to its API form and back (README "Configuration reference").
// Each codec also knows the zod schema of its API value (validation + OpenAPI) and how to read a
// filter value from URL text. Imports nothing but zod and node built-ins (and core's own errors).
import { z } from 'zod';
import { BridgeError } from './errors.js';
import { daysInMonth, localToUtcIso, utcIsoToLocal } from './local-time.js';

/** A value could not be converted by a codec (bad filter text, bad body value, odd stored value). */
export class CodecError extends BridgeError {
  override readonly code = 'CODEC_INVALID';
}

/** A stored value cannot be shown in its API form and the field is configured to refuse it (yn `unknown: error`). */
export class StoredValueError extends BridgeError {
  override readonly code = 'STORED_VALUE_INVALID';
}

/** What a database driver hands us or accepts as a bound parameter. */
export type DbValue = string | number | boolean | null | Buffer;

/**
 * Stored non-null values that decode to null, so that filters mean what responses show
 * (`is.null` matches them, comparisons skip them): `in` lists them; `notIn` lists the only stored
 * values that do not.
 */
export interface StoredNulls {
  readonly kind: 'in' | 'notIn';
  readonly values: readonly DbValue[];
}

export interface Codec {
  /** JSON schema source for the API value (non-null); nullability is added by the mapping. */
  readonly schema: z.ZodType;
  /**
   * Database value → API value. Never throws: a value that cannot be read becomes null. A plain
   * function (no `this`), so that compiled row converters can hold it.
   */
  readonly decode: (db: unknown) => unknown;
  /** API value (already validated by `schema`) → bound parameter. */
  encode(api: unknown): DbValue;
  /** URL text (a filter or key value) → API value; throws CodecError when the text is not one. */
  parseText(text: string): unknown;
  /** Whether `like`/`ilike` make sense on this field (text-valued codecs). */
  readonly textual: boolean;
  /** Whether decode can turn a non-null stored value into null (the read schema is then nullable). */
  readonly decodesNull: boolean;
  /** The stored values that decode to null, where they can be named (filters use them). */
  readonly storedNulls?: StoredNulls | undefined;
  /** The schema of decoded values when it is wider than `schema` (yn keeping unknown letters). */
  readonly readSchema?: z.ZodType | undefined;
}

const decimalText = /^-?\d+(\.\d+)?$/;
const twoDigits = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : String(i)));

export function asText(db: unknown): string | null {
  if (typeof db === 'string') return db;
  if (db === null || db === undefined) return null;
  if (Buffer.isBuffer(db)) return db.toString('utf8');
  if (db instanceof Date) return db.toISOString();
  if (typeof db === 'number' || typeof db === 'bigint' || typeof db === 'boolean') return String(db);
  return JSON.stringify(db);
}

function checked(schema: z.ZodType, value: unknown, text: string): unknown {
  const r = schema.safeParse(value);
  if (!r.success)
    throw new CodecError(`${JSON.stringify(text)}: ${r.error.issues[0]?.message ?? 'invalid value'}`);
  return r.data;
}

const stringOptions = z.strictObject({
  maxLength: z.number().int().positive().optional().describe('Longest accepted value'),
});
/** Text that is short enough passes z.string().max(n) as it is: skip the schema for it (keys, filters). */
const withinLength = (max: number | undefined, schema: z.ZodType) => (t: string) =>
  max === undefined || t.length <= max ? t : checked(schema, t, t);

function stringCodec(o: z.infer<typeof stringOptions>): Codec {
  const schema = o.maxLength ? z.string().max(o.maxLength) : z.string();
  return {
    schema,
    textual: true,
    decodesNull: false,
    decode: asText,
    encode: (v) => v as string,
    parseText: withinLength(o.maxLength, schema),
  };
}

const trimOptions = z.strictObject({
  length: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('CHAR(n) width: written values are padded to it (needed for keys on SQLite)'),
});
function trimCodec(o: z.infer<typeof trimOptions>): Codec {
  const schema = o.length ? z.string().max(o.length) : z.string();
  return {
    schema,
    textual: true,
    decodesNull: false,
    decode: (db) => (typeof db === 'string' ? db.trimEnd() : (asText(db)?.trimEnd() ?? null)),
    encode: (v) => (o.length ? (v as string).padEnd(o.length, ' ') : (v as string)),
    parseText: withinLength(o.length, schema),
  };
}

function parseBooleanText(t: string): boolean {
  if (t === 'true') return true;
  if (t === 'false') return false;
  throw new CodecError(`${JSON.stringify(t)}: expected true or false`);
}

const ynOptions = z.strictObject({
  true: z.string().min(1).default('Y').describe('Stored letter for true'),
  false: z.string().min(1).default('N').describe('Stored letter for false'),
  unknown: z
    .enum(['null', 'error', 'raw'])
    .default('null')
    .describe(
      "A stored value that is neither letter (' ', 'X'): null (the field reads as null and is.null matches it), error (the read fails with a 500 naming the column), or raw (the stored text, trimmed: the field is boolean or string)",
    ),
});
function ynCodec(o: z.infer<typeof ynOptions>): Codec {
  const yes = o.true.trim();
  const no = o.false.trim();
  const unknown =
    o.unknown === 'null'
      ? () => null
      : o.unknown === 'raw'
        ? (t: string) => t
        : (t: string) => {
            throw new StoredValueError(
              `a yn field holds ${JSON.stringify(t)}, neither ${JSON.stringify(yes)} nor ${JSON.stringify(no)}`,
            );
          };
  return {
    schema: z.boolean(),
    textual: false,
    decodesNull: o.unknown === 'null',
    storedNulls: o.unknown === 'null' ? { kind: 'notIn', values: [o.true, o.false] } : undefined,
    readSchema: o.unknown === 'raw' ? z.union([z.boolean(), z.string()]) : undefined,
    decode: (db) => {
      if (db === null || db === undefined) return null;
      const t = (typeof db === 'string' ? db : (asText(db) ?? '')).trim();
      return t === yes ? true : t === no ? false : unknown(t);
    },
    encode: (v) => (v ? o.true : o.false),
    parseText: parseBooleanText,
  };
}

const booleanOptions = z.strictObject({
  storage: z
    .enum(['boolean', 'integer'])
    .default('boolean')
    .describe('boolean column, or 1/0 integer column'),
});
function booleanCodec(o: z.infer<typeof booleanOptions>): Codec {
  const integer = o.storage === 'integer';
  return {
    schema: z.boolean(),
    textual: false,
    // A boolean column holds only booleans; an integer one may hold 2 or -1, which read as null.
    decodesNull: integer,
    storedNulls: integer ? { kind: 'notIn', values: [0, 1] } : undefined,
    decode: (db) => {
      if (db === null || db === undefined) return null;
      if (typeof db === 'boolean') return db;
      const t = (asText(db) ?? '').trim().toLowerCase();
      return ['1', 't', 'true', 'y', 'yes'].includes(t)
        ? true
        : ['0', 'f', 'false', 'n', 'no'].includes(t)
          ? false
          : null;
    },
    encode: (v) => (o.storage === 'integer' ? (v ? 1 : 0) : Boolean(v)),
    parseText: parseBooleanText,
  };
}

const yyyymmddOptions = z.strictObject({
  storage: z.enum(['integer', 'char']).default('integer').describe('INTEGER 20240131 or CHAR(8) "20240131"'),
  nullValues: z
    .array(z.union([z.number().int(), z.string()]))
    .optional()
    .describe(
      'Stored "no date" markers, read as null and matched by is.null (default: 0 for integer storage; "00000000", "" and 8 blanks for char)',
    ),
});
function yyyymmddCodec(o: z.infer<typeof yyyymmddOptions>): Codec {
  const schema = z.iso.date();
  const nullValues = o.nullValues ?? (o.storage === 'integer' ? [0] : ['00000000', '', '        ']);
  const memoKeys = new Array<number>(512).fill(-1);
  const memoValues = new Array<string | null>(512).fill(null);
  return {
    schema,
    textual: false,
    // Every stored value that is not a real date (0, blanks, 20240231) reads as null.
    decodesNull: true,
    storedNulls: nullValues.length > 0 ? { kind: 'in', values: nullValues } : undefined,
    decode: (db) => {
      if (typeof db === 'number' && Number.isInteger(db) && db >= 10_000_000 && db <= 99_999_999) {
        // INTEGER storage without going through text: same checks, same result. Dates repeat a
        // lot in a table, so the last result per slot of a small direct-mapped memo is kept.
        const slot = db & 511;
        if (memoKeys[slot] === db) return memoValues[slot];
        const y = Math.floor(db / 10_000);
        const mo = Math.floor(db / 100) % 100;
        const d = db % 100;
        const iso =
          mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)
            ? null
            : `${y}-${twoDigits[mo]}-${twoDigits[d]}`;
        memoKeys[slot] = db;
        memoValues[slot] = iso;
        return iso;
      }
      const t = asText(db)?.trim() ?? '';
      const m = /^(\d{4})(\d{2})(\d{2})$/.exec(t);
      if (!m) return null; // 0, blanks and other legacy "no date" markers
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      // Cheaper than the zod schema on every row.
      if (y === 0 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
      return `${m[1]}-${m[2]}-${m[3]}`;
    },
    encode: (v) => {
      const digits = (v as string).replaceAll('-', '');
      return o.storage === 'integer' ? Number(digits) : digits;
    },
    parseText: (t) => checked(schema, t, t),
  };
}

const decimalOptions = z.strictObject({
  scale: z
    .number()
    .int()
    .min(0)
    .max(38)
    .optional()
    .describe('Digits after the point in responses (padded; never rounded away)'),
});
function decimalCodec(o: z.infer<typeof decimalOptions>): Codec {
  const schema = z.string().regex(decimalText, 'expected a decimal number as a string, like "12.50"');
  return {
    schema,
    textual: false,
    decodesNull: false,
    decode: (db) => {
      const t = asText(db);
      if (t === null) return null;
      return o.scale === undefined ? t : padScale(t, o.scale);
    },
    encode: (v) => v as string,
    parseText: (t) => checked(schema, t, t),
  };
}

/** "12.5" with scale 2 → "12.50"; digits beyond the scale are kept, never rounded. */
function padScale(t: string, scale: number): string {
  const dot = t.indexOf('.');
  const have = dot < 0 ? 0 : t.length - dot - 1;
  if (have >= scale) return t;
  if (!decimalText.test(t)) return t;
  return `${dot < 0 ? `${t}.` : t}${'0'.repeat(scale - have)}`;
}

const centsOptions = z.strictObject({
  scale: z.number().int().min(0).max(18).default(2).describe('Implied decimal places of the stored integer'),
});
function centsCodec(o: z.infer<typeof centsOptions>): Codec {
  const frac = o.scale === 0 ? '' : `(\\.\\d{1,${o.scale}})?`;
  const schema = z
    .string()
    .regex(new RegExp(`^-?\\d+${frac}$`), `expected a decimal string with at most ${o.scale} decimals`);
  return {
    schema,
    textual: false,
    decodesNull: false,
    decode: (db) => {
      if (db === null || db === undefined) return null;
      if (typeof db === 'number' && Number.isSafeInteger(Math.trunc(db))) {
        // Safe integers print exactly like their BigInt: the same digits without BigInt arithmetic.
        const n = Math.trunc(db);
        if (o.scale === 2) {
          // The usual cents: integer division and a two-digit table (exact below 2^53).
          const abs = n < 0 ? -n : n;
          const cents = abs % 100;
          return `${n < 0 ? '-' : ''}${(abs - cents) / 100}.${twoDigits[cents]}`;
        }
        const digits = String(n < 0 ? -n : n).padStart(o.scale + 1, '0');
        const cut = digits.length - o.scale;
        return `${n < 0 ? '-' : ''}${digits.slice(0, cut)}${o.scale ? `.${digits.slice(cut)}` : ''}`;
      }
      let n: bigint;
      try {
        n = BigInt(typeof db === 'number' ? Math.trunc(db) : (asText(db) ?? '').trim());
      } catch {
        return null;
      }
      const neg = n < 0n;
      const digits = (neg ? -n : n).toString().padStart(o.scale + 1, '0');
      const cut = digits.length - o.scale;
      return `${neg ? '-' : ''}${digits.slice(0, cut)}${o.scale ? `.${digits.slice(cut)}` : ''}`;
    },
    encode: (v) => {
      const [int, f = ''] = (v as string).split('.');
      // String arithmetic, never floats: "-0.50" → BigInt("-050") = -50.
      const n = BigInt(`${int}${f.padEnd(o.scale, '0')}`);
      return Number.isSafeInteger(Number(n)) ? Number(n) : n.toString();
    },
    parseText: (t) => checked(schema, t, t),
  };
}

const enumOptions = z.strictObject({
  values: z
    .record(z.string(), z.string().min(1))
    .refine((m) => Object.keys(m).length > 0, 'list at least one stored value')
    .refine((m) => new Set(Object.values(m)).size === Object.values(m).length, 'API values must be unique')
    .describe('Stored code → API value, e.g. {A: active, I: inactive}'),
});
function enumCodec(o: z.infer<typeof enumOptions>): Codec {
  const apiValues = Object.values(o.values) as [string, ...string[]];
  const byApi = new Map(Object.entries(o.values).map(([db, api]) => [api, db]));
  const byDb = new Map(Object.entries(o.values).map(([db, api]) => [db.trimEnd(), api]));
  const schema = z.enum(apiValues);
  return {
    schema,
    textual: false,
    // Codes missing from `values` read as null.
    decodesNull: true,
    storedNulls: { kind: 'notIn', values: Object.keys(o.values) },
    decode: (db) => byDb.get(asText(db)?.trimEnd() ?? '') ?? null,
    encode: (v) => byApi.get(v as string)!,
    parseText: (t) => checked(schema, t, t),
  };
}

const localTimestampOptions = z.strictObject({
  timeZone: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone like Europe/Paris')
    .default('UTC')
    .describe('Zone the legacy application wrote its zone-less datetimes in'),
});
function localTimestampCodec(o: z.infer<typeof localTimestampOptions>): Codec {
  const schema = z.iso.datetime({ offset: true });
  return {
    schema,
    textual: false,
    decodesNull: false,
    decode: (db) => {
      const t = typeof db === 'string' ? db : asText(db);
      return t === null ? null : localToUtcIso(t, o.timeZone);
    },
    encode: (v) => utcIsoToLocal(v as string, o.timeZone),
    parseText: (t) => checked(schema, t, t),
  };
}

const intOptions = z.strictObject({
  min: z.number().int().optional().describe('Smallest accepted value'),
  max: z.number().int().optional().describe('Largest accepted value'),
});
function intCodec(o: z.infer<typeof intOptions>): Codec {
  let schema = z.int();
  if (o.min !== undefined) schema = schema.min(o.min);
  if (o.max !== undefined) schema = schema.max(o.max);
  return {
    schema,
    textual: false,
    decodesNull: false,
    decode: (db) => {
      if (db === null || db === undefined) return null;
      const n = Number(typeof db === 'string' ? db.trim() : db);
      return Number.isFinite(n) ? n : null;
    },
    encode: (v) => v as number,
    parseText: (t) => checked(schema, /^-?\d{1,16}$/.test(t) ? Number(t) : Number.NaN, t),
  };
}

const jsonOptions = z.strictObject({});
function jsonCodec(): Codec {
  return {
    // z.unknown, not z.json: the latter's recursive $defs do not survive being placed in OpenAPI components.
    schema: z.unknown(),
    textual: false,
    decodesNull: false,
    decode: (db) => {
      if (db === null || db === undefined) return null;
      if (typeof db !== 'string' && !Buffer.isBuffer(db)) return db;
      try {
        return JSON.parse(asText(db)!) as unknown;
      } catch {
        return null;
      }
    },
    encode: (v) => JSON.stringify(v),
    parseText: (t) => {
      throw new CodecError(`${JSON.stringify(t)}: json fields can only be filtered with is.null`);
    },
  };
}

/** Every codec with its options schema; the config schema and the mapping both read this table. */
export const codecs = {
  string: { options: stringOptions, create: stringCodec },
  trim: { options: trimOptions, create: trimCodec },
  yn: { options: ynOptions, create: ynCodec },
  boolean: { options: booleanOptions, create: booleanCodec },
  yyyymmdd: { options: yyyymmddOptions, create: yyyymmddCodec },
  decimal: { options: decimalOptions, create: decimalCodec },
  cents: { options: centsOptions, create: centsCodec },
  enum: { options: enumOptions, create: enumCodec },
  localTimestamp: { options: localTimestampOptions, create: localTimestampCodec },
  int: { options: intOptions, create: intCodec },
  json: { options: jsonOptions, create: jsonCodec },
} as const;

export type CodecName = keyof typeof codecs;
export const codecNames = Object.keys(codecs) as [CodecName, ...CodecName[]];

/** Builds a codec from its name and raw options (validated here; the config schema validated them already). */
export function createCodec(name: CodecName, options: unknown = {}): Codec {
  const entry = codecs[name];
  const parsed = entry.options.safeParse(options ?? {});
  if (!parsed.success) throw new CodecError(`codec ${name}: ${z.prettifyError(parsed.error)}`);
  return (entry.create as (o: unknown) => Codec)(parsed.data);
}
