// Oracle column types → event values (README "Change events"), from both paths: snapshot rows as
// oracledb returns them (NUMBER fetched as a string, dates as text the SELECT formats itself,
// CLOB as a string, BLOB and RAW as Buffers) and SQL_REDO literals (oracle-redo-parser.ts).
import { BridgeError } from '../../src/core/errors.js';
import { decodeUnistr, type RedoValue } from './oracle-redo-parser.js';

export type OracleKind =
  /** NUMBER(p,0), INTEGER: a JS number, a string only past ±2^53. */
  | 'int'
  /** NUMBER, NUMBER(p,s), larger NUMBER(p,0), FLOAT: exact digits as a string. */
  | 'decimal'
  /** BINARY_FLOAT, BINARY_DOUBLE: IEEE values, JSON numbers. */
  | 'double'
  /** DATE: date and time to the second, no zone. */
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'timestampltz'
  | 'text'
  | 'binary';

export interface OracleColumn {
  readonly name: string;
  /** ALL_TAB_COLUMNS.DATA_TYPE, e.g. `TIMESTAMP(6) WITH TIME ZONE`. */
  readonly dataType: string;
  readonly kind: OracleKind;
  /** Fractional-second digits of TIMESTAMP types (DATA_SCALE), 0 otherwise. */
  readonly fraction: number;
  /** CLOB, NCLOB, BLOB: LogMiner may leave the value out of SQL_REDO (EMPTY_CLOB() + LOB_WRITE). */
  readonly lob: boolean;
}

export class OracleValueError extends BridgeError {
  override readonly code = 'ORACLE_VALUE_UNREADABLE';
}

/** The kind of a column from ALL_TAB_COLUMNS' DATA_TYPE, DATA_PRECISION and DATA_SCALE. */
export function oracleColumn(
  name: string,
  dataType: string,
  precision: number | null,
  scale: number | null,
): OracleColumn {
  const t = dataType.toUpperCase();
  const base = { name, dataType: t, fraction: 0, lob: /^(CLOB|NCLOB|BLOB)$/.test(t) };
  if (t === 'NUMBER' || t === 'INTEGER')
    return {
      ...base,
      kind: t === 'INTEGER' || scale === 0 ? 'int' : 'decimal',
    };
  if (t === 'FLOAT') return { ...base, kind: 'decimal' };
  if (t === 'BINARY_FLOAT' || t === 'BINARY_DOUBLE') return { ...base, kind: 'double' };
  if (t === 'DATE') return { ...base, kind: 'date' };
  if (t.startsWith('TIMESTAMP')) {
    const fraction = scale ?? Number(/\((\d)\)/.exec(t)?.[1] ?? 6);
    const kind = t.endsWith('WITH LOCAL TIME ZONE')
      ? 'timestampltz'
      : t.endsWith('WITH TIME ZONE')
        ? 'timestamptz'
        : 'timestamp';
    return { ...base, kind, fraction };
  }
  if (t === 'RAW' || t === 'BLOB' || t === 'LONG RAW') return { ...base, kind: 'binary' };
  return { ...base, kind: 'text' };
}

/** Oracle prints 0.5 as `.5` and -0.5 as `-.5`; events carry the digits with a leading zero. */
export function normalizeDecimal(text: string): string {
  const t = text.trim();
  if (t.startsWith('.')) return `0${t}`;
  if (t.startsWith('-.')) return `-0${t.slice(1)}`;
  return t;
}

const DATETIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?)?(?:\s*(?:([+-])(\d{1,2}):(\d{2})|(Z|UTC|GMT)))?$/;

/**
 * A datetime as the session's NLS formats print it (`2026-11-28 10:00:00.123456000 +02:00`) in
 * ISO form: `T` between date and time, `fraction` digits (every stored one, FF9's padding cut),
 * and for zoned kinds the UTC instant with `Z`. `zoneless` text of a zoned kind is UTC (the
 * mining session's TIME_ZONE is '00:00').
 */
export function isoDatetime(text: string, kind: 'date' | 'timestamp' | 'zoned', fraction: number): string {
  const m = DATETIME.exec(text.trim());
  if (!m) throw new OracleValueError(`unreadable datetime ${JSON.stringify(text)}`);
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', sign, oh, om] = m;
  const digits = kind === 'date' ? '' : frac.padEnd(fraction, '0').slice(0, fraction);
  const tail = digits ? `.${digits}` : '';
  if (kind !== 'zoned') return `${y}-${mo}-${d}T${h}:${mi}:${s}${tail}`;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (sign) ms -= (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om)) * 60_000;
  return `${new Date(ms).toISOString().slice(0, 19)}${tail}Z`;
}

function datetimeOf(col: OracleColumn, text: string): string {
  switch (col.kind) {
    case 'date':
      return isoDatetime(text, 'date', 0);
    case 'timestamp':
      return isoDatetime(text, 'timestamp', col.fraction);
    case 'timestamptz':
    case 'timestampltz':
      return isoDatetime(text, 'zoned', col.fraction);
    default:
      return text;
  }
}

function numberOf(col: OracleColumn, text: string): number | string {
  const t = normalizeDecimal(text);
  if (col.kind === 'int' || col.kind === 'double') {
    const n = Number(t);
    if (!Number.isFinite(n) && col.kind === 'int')
      throw new OracleValueError(`column ${col.name}: ${JSON.stringify(text)} is not a number`);
    if (col.kind === 'double') return n;
    return Number.isSafeInteger(n) ? n : t;
  }
  return t;
}

/** What a redo value means for one column; `undefined` when the redo does not carry it (a LOB). */
export function redoValue(col: OracleColumn, v: RedoValue): unknown {
  switch (v.kind) {
    case 'null':
      return null;
    case 'number':
      return col.kind === 'text' ? v.text : numberOf(col, v.text);
    case 'string':
      return literal(col, v.text);
    case 'call':
      return callValue(col, v);
    default: {
      const never: never = v;
      throw new OracleValueError(`unknown redo value ${JSON.stringify(never)}`);
    }
  }
}

function literal(col: OracleColumn, text: string): unknown {
  switch (col.kind) {
    case 'int':
    case 'decimal':
    case 'double':
      return numberOf(col, text);
    case 'date':
    case 'timestamp':
    case 'timestamptz':
    case 'timestampltz':
      return datetimeOf(col, text);
    case 'binary':
      return hexToBase64(col, text);
    case 'text':
      return text;
    default: {
      const never: never = col.kind;
      throw new OracleValueError(`unknown kind ${String(never)}`);
    }
  }
}

function hexToBase64(col: OracleColumn, hex: string): string {
  if (!/^([0-9A-Fa-f]{2})*$/.test(hex))
    throw new OracleValueError(`column ${col.name}: ${JSON.stringify(hex)} is not hex`);
  return Buffer.from(hex, 'hex').toString('base64');
}

/** The text a call stands for, for the calls LogMiner writes. */
function callText(col: OracleColumn, v: Extract<RedoValue, { kind: 'call' }>): string | undefined {
  const arg = (i: number): string => {
    const a = v.args[i];
    if (a?.kind === 'string' || a?.kind === 'number') return a.text;
    if (a?.kind === 'call') {
      const t = callText(col, a);
      if (t !== undefined) return t;
    }
    throw new OracleValueError(`column ${col.name}: unexpected argument ${i + 1} of ${v.name}`);
  };
  switch (v.name) {
    case 'TO_DATE':
    case 'TO_TIMESTAMP':
    case 'TO_TIMESTAMP_TZ':
    case 'TO_CHAR':
    case 'TO_NCHAR':
    case 'TO_CLOB':
    case 'TO_NCLOB':
    case 'TO_BLOB':
    case 'TO_NUMBER':
      return arg(0);
    case 'HEXTORAW':
      return arg(0);
    case 'UNISTR':
      return decodeUnistr(arg(0));
    case '||':
      return v.args.map((_, i) => arg(i)).join('');
    default:
      return undefined;
  }
}

function callValue(col: OracleColumn, v: Extract<RedoValue, { kind: 'call' }>): unknown {
  // The LOB is written by later LOB_WRITE rows: the statement does not hold its value.
  if (v.name === 'EMPTY_CLOB' || v.name === 'EMPTY_BLOB') return undefined;
  const text = callText(col, v);
  if (text === undefined)
    throw new OracleValueError(`column ${col.name}: the redo function ${v.name}() is not supported`);
  if (v.name === 'HEXTORAW' || (v.name === 'TO_BLOB' && col.kind === 'binary'))
    return col.kind === 'binary' ? hexToBase64(col, text) : text;
  return literal(col, text);
}

/**
 * A snapshot value as oracledb returns it under `snapshotFetchTypeHandler` and the snapshot's
 * SELECT list (dates already formatted as text by the server).
 */
export function snapshotValue(col: OracleColumn, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date)
    throw new OracleValueError(`column ${col.name}: a Date lost its digits; fetch it as text`);
  if (typeof v === 'number') return col.kind === 'decimal' ? String(v) : v;
  if (typeof v === 'string') return literalFromFetch(col, v);
  throw new OracleValueError(`column ${col.name}: unexpected ${typeof v} from the driver`);
}

function literalFromFetch(col: OracleColumn, text: string): unknown {
  return col.kind === 'binary' ? hexToBase64(col, text) : literal(col, text);
}

/**
 * The SELECT list term that reads a column for the snapshot: dates formatted by the server with
 * every stored digit (oracledb would hand a JS Date, in the process time zone, to the
 * millisecond), zoned timestamps as UTC.
 */
export function selectTerm(col: OracleColumn, quote: (s: string) => string): string {
  const c = quote(col.name);
  const ff = col.fraction > 0 ? `.FF${col.fraction}` : '';
  switch (col.kind) {
    case 'date':
      return `TO_CHAR(${c}, 'YYYY-MM-DD HH24:MI:SS') AS ${c}`;
    case 'timestamp':
      return `TO_CHAR(${c}, 'YYYY-MM-DD HH24:MI:SS${ff}') AS ${c}`;
    case 'timestamptz':
    case 'timestampltz':
      return `TO_CHAR(SYS_EXTRACT_UTC(${c}), 'YYYY-MM-DD HH24:MI:SS${ff}') AS ${c}`;
    default:
      return c;
  }
}

/** The part of oracledb's module the type handlers need (it ships no type declarations). */
export interface OracledbTypes {
  readonly DB_TYPE_NUMBER: unknown;
  readonly DB_TYPE_CLOB: unknown;
  readonly DB_TYPE_NCLOB: unknown;
  readonly DB_TYPE_BLOB: unknown;
  readonly STRING: unknown;
  readonly BUFFER: unknown;
}

/**
 * oracledb's `fetchTypeHandler` for every query of this adapter: NUMBER as a string (SCNs pass
 * 2^53, NUMBER(38) keys too, and decimals keep their digits), CLOB/NCLOB as strings and BLOB as
 * a Buffer instead of Lob streams.
 */
export function fetchTypeHandler(
  db: OracledbTypes,
): (meta: { dbType?: unknown }) => { type: unknown } | undefined {
  return (meta) => {
    if (meta.dbType === db.DB_TYPE_NUMBER) return { type: db.STRING };
    if (meta.dbType === db.DB_TYPE_CLOB || meta.dbType === db.DB_TYPE_NCLOB) return { type: db.STRING };
    if (meta.dbType === db.DB_TYPE_BLOB) return { type: db.BUFFER };
    return undefined;
  };
}
