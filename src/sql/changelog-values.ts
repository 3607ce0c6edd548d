// Changelog JSON → event values (README "Change events"). The changelog's JSON is parsed with
// lossless-json, so a number keeps the digits the database wrote (JSON.parse would turn
// numeric 835.60 into 835.6 and round integers past 2^53); each database's `value` (in
// src/sql/<db>/<db>-triggers.ts) then converts a value by its column's declared type with the
// helpers below.
import { isLosslessNumber, isSafeNumber, parse } from 'lossless-json';

export { isLosslessNumber };

/** Parses changelog JSON keeping every number as a LosslessNumber (its digits as written). */
export function parseChangelogJson(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  const text = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v);
  return parse(text) as Record<string, unknown>;
}

/** The digits of a number value as written (a string value passes through). */
export function digits(v: unknown): unknown {
  if (isLosslessNumber(v)) return v.value;
  return v;
}

/** A 64-bit integer: a number within ±2^53, its digits as a string beyond. */
export function int64(v: unknown): unknown {
  const d = digits(v);
  if (typeof d !== 'string') return d;
  const n = Number(d);
  return Number.isSafeInteger(n) ? n : d;
}

/** A float: a JS number (what every driver returns). */
export function float(v: unknown): unknown {
  return isLosslessNumber(v) ? Number(v.value) : v;
}

/** Any number where the type is not known: a JS number when that loses nothing, else its digits. */
export function plain(v: unknown): unknown {
  if (isLosslessNumber(v)) {
    const d = v.value;
    return isSafeNumber(d) ? Number(d) : d;
  }
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

/** Deeply: numbers as JSON.parse gives them (json columns: the other sources parse them so). */
export function jsonNumbers(v: unknown): unknown {
  if (isLosslessNumber(v)) return Number(v.value);
  if (Array.isArray(v)) return v.map(jsonNumbers);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonNumbers(x);
    return out;
  }
  return v;
}

const zoned =
  /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?\s*([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?$/;

/**
 * `2024-01-02T05:04:05.123456+02:00` → `2024-01-02T03:04:05.123456Z`: moved to UTC with every
 * fractional digit kept (a JS Date would keep milliseconds only). Values it cannot read (infinity,
 * BC dates) are returned unchanged.
 */
export function utcIso(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (v.endsWith('Z')) return v.replace(' ', 'T');
  const m = zoned.exec(v);
  if (!m) return v;
  const [, y, mo, d, h, mi, s, frac, sign, oh, om, os] = m;
  const offset = (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * (sign === '-' ? -1 : 1);
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) - offset * 1000;
  const at = new Date(ms);
  if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1 || at.getUTCFullYear() > 9999) return v;
  return `${at.toISOString().slice(0, 19)}${frac ?? ''}Z`;
}

/** `2024-01-02 03:04:05.123456` → `2024-01-02T03:04:05.123456` (zone-less, every digit kept). */
export function localIso(v: unknown): unknown {
  return typeof v === 'string' && /^\d{4,}-\d\d-\d\d \d/.test(v) ? v.replace(' ', 'T') : v;
}

/**
 * Seconds since the epoch with a fraction (MySQL UNIX_TIMESTAMP(ts(6)), exact) → ISO UTC with
 * the same fractional digits.
 */
export function epochIso(v: unknown): unknown {
  const d = digits(v);
  if (typeof d !== 'string' || !/^\d+(\.\d+)?$/.test(d)) return d;
  const [whole, frac] = d.split('.');
  const at = new Date(Number(whole) * 1000);
  return `${at.toISOString().slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}
