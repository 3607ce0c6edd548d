// Opaque keyset cursors: the ordering values of the last row of a page, plus a fingerprint of the
// ordering they belong to (a cursor is only valid with the `order` it was issued for).
import { createHash } from 'node:crypto';
import { QuerySyntaxError } from './filter-grammar.js';

export type CursorValue = string | number | boolean | null;

// Every page of a list hashes its ordering: remember the few orderings in use.
const fingerprints = new Map<string, string>();

function fingerprint(ordering: string): string {
  let f = fingerprints.get(ordering);
  if (f === undefined) {
    f = createHash('sha256').update(ordering).digest('base64url').slice(0, 8);
    if (fingerprints.size >= 1000) fingerprints.clear();
    fingerprints.set(ordering, f);
  }
  return f;
}

/** Turns driver values into JSON-safe cursor values (bigint → string, Buffer → base64, Date → ISO). */
export function cursorValue(v: unknown): CursorValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v);
}

export function encodeCursor(ordering: string, values: readonly unknown[]): string {
  const body = JSON.stringify({ o: fingerprint(ordering), v: values.map(cursorValue) });
  return Buffer.from(body, 'utf8').toString('base64url');
}

/** Decodes a cursor for `ordering` carrying `count` values; any mismatch is a 400. */
export function decodeCursor(text: string, ordering: string, count: number): CursorValue[] {
  const bad = (why: string) => new QuerySyntaxError(`cursor: ${why}`, 'cursor');
  if (text.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(text)) throw bad('not a cursor issued by this API');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a cursor issued by this API');
  }
  const p = parsed as { o?: unknown; v?: unknown };
  if (typeof p !== 'object' || p === null || !Array.isArray(p.v))
    throw bad('not a cursor issued by this API');
  if (p.o !== fingerprint(ordering))
    throw bad('issued for another order; keep the same order parameter while paging');
  const values = p.v as unknown[];
  if (
    values.length !== count ||
    !values.every((v) => v === null || ['string', 'number', 'boolean'].includes(typeof v))
  )
    throw bad('not a cursor issued by this API');
  return values as CursorValue[];
}
