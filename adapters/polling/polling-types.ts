// Driver values → event values (DESIGN.md "Change events"): JSON-native where lossless, 64-bit
// integers as numbers within ±2^53, binary as base64. Dates stay as the driver's text (the REST
// dialects keep them text so no zone or digit is lost).
import { createHash } from 'node:crypto';

export type Row = Record<string, unknown>;

export function normalizeValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint')
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (v instanceof Date) return v.toISOString();
  return v;
}

export function normalizeRow(row: Row): Row {
  const out: Row = {};
  for (const k of Object.keys(row)) out[k] = normalizeValue(row[k]);
  return out;
}

/** A key as JSON in key-column order: the diff store's and the message id's form of a key. */
export function keyText(values: readonly unknown[]): string {
  return JSON.stringify(values);
}

/** A row's content hash (columns in the order the query returned them). */
export function rowHash(row: Row): string {
  return createHash('sha1').update(JSON.stringify(row)).digest('base64url');
}

/** A short stable digest for message ids built from arbitrary values. */
export function digest(text: string): string {
  return createHash('sha1').update(text).digest('base64url').slice(0, 22);
}

/** A cursor value as read back from the database, ready to bind (bigint-safe numbers, strings otherwise). */
export function bindable(v: unknown): string | number | null {
  const n = normalizeValue(v);
  if (n === null || typeof n === 'number' || typeof n === 'string') return n;
  return JSON.stringify(n);
}
