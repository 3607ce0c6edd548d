// Driver values → event values (the README's "Change events"): JSON-native where lossless, 64-bit
// integers as numbers within ±2^53, binary as base64. Dates stay as the driver's text (the
// dialects keep them text so no zone or digit is lost).

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

/** A cursor value as read back from the database, ready to bind (bigint-safe numbers, strings otherwise). */
export function bindable(v: unknown): string | number | null {
  const n = normalizeValue(v);
  if (n === null || typeof n === 'number' || typeof n === 'string') return n;
  return JSON.stringify(n);
}
