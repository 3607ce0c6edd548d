// Binlog and snapshot values → event values (README "Change events"), so a row reads the same
// whether it came from the snapshot (mysql2 text protocol, the dialect's source typeCast) or from
// the binlog (zongji's row decoding with dateStrings, timezone 'Z', exact DECIMAL and BIGINT):
// - DECIMAL: the exact digits as a string; BIGINT (signed or unsigned): a number within ±2^53,
//   else its digits as a string;
// - DATETIME: ISO without zone, every stored fractional digit; TIMESTAMP: ISO in UTC with `Z`
//   (zongji renders it in the connection's zone, 'Z'; the snapshot session runs in UTC);
// - zero dates (`0000-00-00`, `0000-00-00 00:00:00`): null, and the column is named in
//   `source.zero_dates` (no ISO form exists for them);
// - BINARY/VARBINARY/BLOB/BIT: base64 of the bytes; JSON: parsed (MariaDB's JSON is a LONGTEXT
//   with a json_valid check, so which columns are JSON comes from the catalog);
// - FLOAT: the shortest decimal that reads back as the same float32 (what the server prints);
// - ENUM/SET, YEAR, TIME, CHAR in any character set: as the driver decodes them (zongji converts
//   latin1 and other charsets from the binlog's column metadata).
import { normalizeValue } from '../../src/sql/sql-values.js';

/** MySQL binlog column type codes that need more than normalizeValue. */
const T = {
  FLOAT: 4,
  TIMESTAMP: 7,
  DATE: 10,
  DATETIME: 12,
  NEWDATE: 14,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  JSON: 245,
} as const;

export type ValueKind = 'timestamp' | 'datetime' | 'date' | 'json' | 'float' | 'plain';

/** What a column's catalog DATA_TYPE (plus MariaDB's JSON check) says about its values. */
export function kindOfDataType(dataType: string, isJson: boolean): ValueKind {
  if (isJson || dataType === 'json') return 'json';
  switch (dataType) {
    case 'timestamp':
      return 'timestamp';
    case 'datetime':
      return 'datetime';
    case 'date':
      return 'date';
    case 'float':
      return 'float';
    default:
      return 'plain';
  }
}

/** The same from a binlog TableMap's type code (the catalog still says which LONGTEXT is JSON). */
export function kindOfBinlogType(code: number, isJson: boolean): ValueKind {
  if (isJson || code === T.JSON) return 'json';
  switch (code) {
    case T.TIMESTAMP:
    case T.TIMESTAMP2:
      return 'timestamp';
    case T.DATETIME:
    case T.DATETIME2:
      return 'datetime';
    case T.DATE:
    case T.NEWDATE:
      return 'date';
    case T.FLOAT:
      return 'float';
    default:
      return 'plain';
  }
}

export interface ColumnDecoder {
  readonly name: string;
  readonly kind: ValueKind;
}

const ZERO = /^0000-00-00(?:[ T]00:00:00(?:\.0+)?Z?)?$/;

/** A zero date (`0000-00-00…`) in a date, datetime or timestamp column: null in the event. */
export function isZeroDate(kind: ValueKind, v: string): boolean {
  return (kind === 'date' || kind === 'datetime' || kind === 'timestamp') && ZERO.test(v);
}

/** The shortest decimal that reads back as the same float32 (zongji decodes FLOAT exactly). */
export function float32(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const c = Number(v.toPrecision(p));
    if (Math.fround(c) === v) return c;
  }
  return v;
}

/** One binlog value as an event value (a zero date is the caller's: see isZeroDate). */
export function decodeValue(kind: ValueKind, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  switch (kind) {
    case 'timestamp':
      return typeof v === 'string'
        ? `${v.replace(' ', 'T')}${v.endsWith('Z') ? '' : 'Z'}`
        : normalizeValue(v);
    case 'datetime':
      return typeof v === 'string' ? v.replace(' ', 'T') : normalizeValue(v);
    case 'json':
      if (Buffer.isBuffer(v)) return JSON.parse(v.toString('utf8'));
      return typeof v === 'string' ? JSON.parse(v) : v;
    case 'float':
      return typeof v === 'number' ? float32(v) : normalizeValue(v);
    default:
      return normalizeValue(v);
  }
}

/**
 * Decodes one row. Zero dates become null and their columns are pushed to `zero` (when given).
 * Columns of `raw` that `cols` does not name are left out.
 */
export function decodeRow(
  cols: readonly ColumnDecoder[],
  raw: Readonly<Record<string, unknown>>,
  zero?: string[],
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const c of cols) {
    const v = raw[c.name];
    if (typeof v === 'string' && isZeroDate(c.kind, v)) {
      row[c.name] = null;
      if (zero && !zero.includes(c.name)) zero.push(c.name);
      continue;
    }
    row[c.name] = decodeValue(c.kind, v);
  }
  return row;
}
