// SQL Server column values → event values (README "Change events"). tedious decodes decimal, numeric
// and money as JS numbers (digits lost past 2^53) and datetime2/datetimeoffset/time as Dates (digits
// lost past the millisecond), so the adapter selects those columns converted to text by the server
// (selectExpression) and passes the text on; everything else is read as the driver decodes it:
// - decimal/numeric/money/smallmoney: the exact digits as a string (money with its 4 decimals);
// - bigint: tedious's string, as a number within ±2^53, else the string;
// - datetime2/datetime/smalldatetime/time: ISO without zone, every stored fractional digit;
// - datetimeoffset: ISO in UTC with `Z`, every stored fractional digit;
// - date: `YYYY-MM-DD` (tedious's Date at UTC midnight, useUTC on);
// - binary/varbinary/image/rowversion (CDC stores a rowversion as binary(8)): base64;
// - uniqueidentifier: as SQL Server prints it (upper case); bit: boolean; nvarchar/ntext: the string.
import { br } from '../../src/sql/quote.js';

export type ValueKind = 'exact' | 'money' | 'bigint' | 'localTime' | 'zonedTime' | 'date' | 'time' | 'plain';

export interface ColumnInfo {
  readonly name: string;
  /** sys.types name: `decimal`, `datetime2`, `nvarchar`... */
  readonly type: string;
  readonly scale: number;
}

export function kindOf(type: string): ValueKind {
  switch (type.toLowerCase()) {
    case 'decimal':
    case 'numeric':
      return 'exact';
    case 'money':
    case 'smallmoney':
      return 'money';
    case 'bigint':
      return 'bigint';
    case 'datetime2':
    case 'datetime':
    case 'smalldatetime':
      return 'localTime';
    case 'datetimeoffset':
      return 'zonedTime';
    case 'date':
      return 'date';
    case 'time':
      return 'time';
    default:
      return 'plain';
  }
}

/**
 * The select-list item that reads `column` of alias `from` losslessly, named as the column.
 * CONVERT style 126 is ISO 8601 (`yyyy-mm-ddThh:mi:ss.fffffff`, as many fractional digits as the
 * type stores); money style 2 keeps 4 decimals.
 */
export function selectExpression(c: ColumnInfo, from: string): string {
  const col = `${from}.${br(c.name)}`;
  const as = ` AS ${br(c.name)}`;
  const kind = kindOf(c.type);
  switch (kind) {
    case 'exact':
      return `CONVERT(varchar(64), ${col})${as}`;
    case 'money':
      return `CONVERT(varchar(64), ${col}, 2)${as}`;
    case 'localTime':
      return `CONVERT(varchar(40), ${col}, 126)${as}`;
    case 'zonedTime':
      return `CONVERT(varchar(40), CONVERT(datetime2(${c.scale}), SWITCHOFFSET(${col}, '+00:00')), 126)${as}`;
    case 'time':
      return `CONVERT(varchar(20), ${col})${as}`;
    case 'bigint':
    case 'date':
    case 'plain':
      return `${col}${as}`;
    default: {
      const never: never = kind;
      return String(never);
    }
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function isoDate(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** One value as the driver returned it for a column of this kind → its event value. */
export function eventValue(kind: ValueKind, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  switch (kind) {
    case 'exact':
    case 'money':
      // The converted text; a number only where a caller selected the column unconverted.
      return typeof v === 'number' ? String(v) : v;
    case 'localTime':
      if (v instanceof Date) return v.toISOString().replace(/Z$/, '');
      return v;
    case 'zonedTime':
      if (v instanceof Date) return v.toISOString();
      return typeof v === 'string' && !v.endsWith('Z') ? `${v}Z` : v;
    case 'date':
      return v instanceof Date ? isoDate(v) : v;
    case 'time':
      return v instanceof Date ? v.toISOString().slice(11, 23) : v;
    case 'bigint': {
      // tedious hands bigint over as a string; a safe one becomes a number.
      const n = Number(v);
      return Number.isSafeInteger(n) ? n : typeof v === 'string' ? v : n;
    }
    case 'plain':
      if (v instanceof Date) return v.toISOString();
      return v;
    default: {
      const never: never = kind;
      return String(never);
    }
  }
}

/** A row of the driver → an event image over `columns`. */
export function eventRow(
  columns: readonly { readonly name: string; readonly kind: ValueKind }[],
  row: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c.name] = eventValue(c.kind, row[c.name]);
  return out;
}
