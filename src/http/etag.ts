// Strong ETags over a row's stored values, and RFC 9110 If-Match / If-None-Match evaluation.
import { createHash, hash } from 'node:crypto';
import type { DbRow } from '../resources/resource-store.js';
import { asText } from '../core/codecs.js';

export function etagOf(row: DbRow, columns: readonly string[]): string {
  // The same bytes as the incremental form below, hashed in one call when no value is binary.
  let text = '';
  for (const c of columns) {
    const v = row[c];
    if (Buffer.isBuffer(v)) return etagOfParts(row, columns);
    text += `${c}\u0000${v === null || v === undefined ? '\u0001' : (asText(v) ?? '')}\u0000`;
  }
  return `"${hash('sha256', text, 'base64url').slice(0, 27)}"`;
}

function etagOfParts(row: DbRow, columns: readonly string[]): string {
  const h = createHash('sha256');
  for (const c of columns) {
    const v = row[c];
    h.update(c).update('\u0000');
    if (v === null || v === undefined) h.update('\u0001');
    else if (Buffer.isBuffer(v)) h.update(v);
    else h.update(asText(v) ?? '');
    h.update('\u0000');
  }
  return `"${h.digest('base64url').slice(0, 27)}"`;
}

function tags(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** If-Match: strong comparison; `*` matches any existing representation. */
export function ifMatchSatisfied(header: string, current: string | undefined): boolean {
  if (current === undefined) return false;
  return tags(header).some((t) => t === '*' || t === current);
}

/** If-None-Match: weak comparison (W/ prefixes ignored). True when the client's copy is current. */
export function ifNoneMatchHit(header: string, current: string): boolean {
  const bare = (t: string) => t.replace(/^W\//, '');
  return tags(header).some((t) => t === '*' || bare(t) === bare(current));
}
