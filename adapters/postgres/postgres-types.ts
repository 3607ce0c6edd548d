// PostgreSQL text values → event values, per the README's "Events" section. Both the snapshot (rows read
// with every pg-types parser off) and the replication stream (pgoutput text tuples) go through
// decodeValue, so a row reads the same in both. The session runs with TimeZone=UTC, DateStyle=ISO,
// IntervalStyle=iso_8601, bytea_output=hex (see SESSION_OPTIONS).
import postgresArray from 'postgres-array';

export const SESSION_OPTIONS =
  '-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c bytea_output=hex -c extra_float_digits=3';

export type Decoder = (text: string) => unknown;

/** A text value straight to its JSON text: exactly `JSON.stringify(decoder(text))`, faster. */
export type JsonWriter = (text: string) => string;

const identity: Decoder = (t) => t;

const bool: Decoder = (t) => t === 't' || t === 'true';

const int: Decoder = (t) => Number(t);

/** int8: a number while it is exact, the digits as a string beyond ±2^53. */
const int8: Decoder = (t) => {
  const n = Number(t);
  return Number.isSafeInteger(n) ? n : t;
};

const float: Decoder = (t) => {
  const n = Number(t);
  return Number.isFinite(n) ? n : t; // NaN, Infinity stay strings: JSON has no such numbers
};

/** money prints with the server's lc_monetary symbol and separators: keep the sign, digits and point. */
const money: Decoder = (t) => {
  const negative = t.startsWith('-') || (t.startsWith('(') && t.endsWith(')'));
  const digits = t.replace(/[^0-9.]/g, '');
  return negative ? `-${digits}` : digits;
};

const bytea: Decoder = (t) =>
  t.startsWith('\\x')
    ? Buffer.from(t.slice(2), 'hex').toString('base64')
    : Buffer.from(t, 'latin1').toString('base64');

const json: Decoder = (t) => JSON.parse(t);

/** `2024-01-02 03:04:05.123456` → `2024-01-02T03:04:05.123456` (every stored digit kept). */
const timestamp: Decoder = (t) => (/^\d{4,}-\d\d-\d\d \d/.test(t) ? t.replace(' ', 'T') : t);

/** `2024-01-02 03:04:05.123456+00` (session in UTC) → `2024-01-02T03:04:05.123456Z`. */
const timestamptz: Decoder = (t) => {
  if (!/^\d{4,}-\d\d-\d\d \d/.test(t)) return t; // infinity, BC dates: as PostgreSQL prints them
  return t.replace(' ', 'T').replace(/\+00(:00)?$/, 'Z');
};

const builtin = new Map<number, Decoder>([
  [16, bool],
  [17, bytea],
  [20, int8],
  [21, int],
  [23, int],
  [26, int],
  [114, json],
  [3802, json],
  [700, float],
  [701, float],
  [790, money],
  [1700, identity], // numeric: exact digits, always a string
  [1114, timestamp],
  [1184, timestamptz],
  [1082, identity], // date: YYYY-MM-DD under DateStyle=ISO
]);

/** Array type OID → element type OID, for the built-in array types. */
const builtinArrays = new Map<number, number>([
  [1000, 16],
  [1001, 17],
  [1002, 18],
  [1003, 19],
  [1005, 21],
  [1007, 23],
  [1009, 25],
  [1014, 1042],
  [1015, 1043],
  [1016, 20],
  [1021, 700],
  [1022, 701],
  [1028, 26],
  [791, 790],
  [1231, 1700],
  [1115, 1114],
  [1182, 1082],
  [1183, 1083],
  [1185, 1184],
  [1187, 1186],
  [1270, 1266],
  [2951, 2950],
  [199, 114],
  [3807, 3802],
  [1041, 869],
  [651, 650],
  [143, 142],
]);

const quoted: JsonWriter = (t) => JSON.stringify(t);

/** PostgreSQL prints int2, int4 and oid in the shortest decimal form, as JSON does. */
const digits: JsonWriter = (t) => t;

/** Types whose decoder is identity or Number(t) of an always-exact integer (see `builtin`). */
const builtinJson = new Map<number, JsonWriter>([
  [21, digits],
  [23, digits],
  [26, digits],
  [20, (t) => (t.length < 16 ? t : JSON.stringify(int8(t)))],
  [16, (t) => (t === 't' || t === 'true' ? 'true' : 'false')],
  [25, quoted], // text
  [1043, quoted], // varchar
  [1042, quoted], // bpchar
  [19, quoted], // name
  [2950, quoted], // uuid
  [1700, quoted], // numeric
  [1082, quoted], // date
]);

/** What the catalog says of a type OID that is not built in (enums, domains, arrays of them). */
export interface TypeInfo {
  readonly oid: number;
  readonly typtype: string; // b base, e enum, d domain, c composite, r range
  readonly elem: number; // array element type, 0 when not an array
  readonly base: number; // domain base type, 0 otherwise
  readonly category: string; // A for arrays
}

/** Decoders by type OID; learns non-built-in OIDs from the catalog via `learn`. */
export class TypeDecoders {
  readonly #info = new Map<number, TypeInfo>();
  readonly #cache = new Map<number, Decoder>();
  readonly #jsonCache = new Map<number, JsonWriter>();

  /** OIDs this registry cannot decode precisely without a catalog lookup. */
  unknown(oids: Iterable<number>): number[] {
    const out: number[] = [];
    for (const oid of oids) if (!this.#known(oid)) out.push(oid);
    return out;
  }

  learn(infos: Iterable<TypeInfo>): void {
    for (const i of infos) this.#info.set(i.oid, i);
    this.#cache.clear();
    this.#jsonCache.clear();
  }

  decoder(oid: number): Decoder {
    let d = this.#cache.get(oid);
    if (!d) {
      d = this.#build(oid, 0);
      this.#cache.set(oid, d);
    }
    return d;
  }

  /** The JSON text of a value of type `oid`: what `JSON.stringify` makes of `decoder(oid)(text)`. */
  jsonWriter(oid: number): JsonWriter {
    let w = this.#jsonCache.get(oid);
    if (!w) {
      const fast = builtinJson.get(oid);
      // Domains, arrays, enums, json and the rest: through their decoder, so nothing can differ.
      const decode = this.decoder(oid);
      w = fast ?? ((t: string) => JSON.stringify(decode(t)));
      this.#jsonCache.set(oid, w);
    }
    return w;
  }

  decode(oid: number, text: string | null): unknown {
    return text === null ? null : this.decoder(oid)(text);
  }

  #known(oid: number): boolean {
    return oid < 10000 || this.#info.has(oid);
  }

  #build(oid: number, depth: number): Decoder {
    if (depth > 8) return identity;
    const b = builtin.get(oid);
    if (b) return b;
    const elem =
      builtinArrays.get(oid) ?? (this.#info.get(oid)?.category === 'A' ? this.#info.get(oid)!.elem : 0);
    if (elem) {
      const inner = this.#build(elem, depth + 1);
      return (t) => postgresArray.parse(t, inner);
    }
    const info = this.#info.get(oid);
    if (info?.typtype === 'd' && info.base) return this.#build(info.base, depth + 1);
    return identity; // text, varchar, bpchar (padding kept), uuid, enums, time, interval, inet, ...
  }
}

export const TYPE_INFO_SQL = `SELECT oid::int AS oid, typtype, typelem::int AS elem, typbasetype::int AS base, typcategory AS category
  FROM pg_catalog.pg_type WHERE oid = ANY($1::oid[])`;
