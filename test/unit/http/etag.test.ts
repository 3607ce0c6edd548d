import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { asText } from '../../../src/core/codecs.js';
import { etagOf, ifMatchSatisfied, ifNoneMatchHit } from '../../../src/http/etag.js';

/** The definition: SHA-256 over column, NUL, value text (or \u0001 for null), NUL, for each column. */
function reference(row: Record<string, unknown>, columns: string[]): string {
  const value = (v: unknown) =>
    v === null || v === undefined
      ? Buffer.from('\u0001')
      : Buffer.isBuffer(v)
        ? v
        : Buffer.from(asText(v) ?? '');
  const bytes = Buffer.concat(
    columns.flatMap((c) => [Buffer.from(`${c}\u0000`), value(row[c]), Buffer.from('\u0000')]),
  );
  return `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
}

describe('etagOf', () => {
  it('hashes the same bytes with and without binary values', () => {
    const columns = ['a', 'b', 'c', 'd'];
    const rows = [
      { a: 'x', b: 1, c: null, d: 'é€😀' },
      { a: 'x', b: 1, c: Buffer.from([0, 255, 1]), d: undefined },
      { a: '', b: true, c: '1', d: '' },
    ];
    for (const row of rows) expect(etagOf(row, columns)).toBe(reference(row, columns));
    expect(etagOf(rows[0]!, columns)).not.toBe(etagOf({ ...rows[0]!, b: 2 }, columns));
  });

  it('If-Match is strong, If-None-Match weak', () => {
    expect(ifMatchSatisfied('"a", "b"', '"b"')).toBe(true);
    expect(ifMatchSatisfied('W/"b"', '"b"')).toBe(false);
    expect(ifNoneMatchHit('W/"b"', '"b"')).toBe(true);
  });
});
