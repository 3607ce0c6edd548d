import { describe, expect, test } from 'vitest';
import { verifyStream, type VerifiedEvent } from '../support/stream-verifier.js';

const ev = (
  op: string,
  id: number,
  v: number | null,
  lsn: string,
  before: number | null = null,
): VerifiedEvent => ({
  op,
  table: 'public.t',
  key: { id },
  before: before === null ? null : { id, v: before },
  after: v === null ? null : { id, v },
  lsn,
  snapshot: op === 'r',
});
const db = (rows: { id: number; v: number }[]) => new Map([['public.t', { key: ['id'], rows }]]);
const full = new Set(['public.t']);

describe('stream verifier', () => {
  const stream = [
    ev('r', 1, 0, ''),
    ev('c', 2, 0, '0/10'),
    ev('u', 1, 1, '0/20', 0),
    ev('d', 2, null, '0/30', 0),
  ];

  test('a complete stream verifies', () => {
    const r = verifyStream(stream, db([{ id: 1, v: 1 }]), full);
    expect(r).toMatchObject({ ok: true, duplicates: 0, lost: 0, events: 4 });
  });

  test('a duplicated change is counted', () => {
    const r = verifyStream([...stream.slice(0, 3), stream[2]!, stream[3]!], db([{ id: 1, v: 1 }]), full);
    expect(r.duplicates).toBe(1);
    expect(r.ok).toBe(false);
  });

  test('a missing intermediate update breaks the before-image chain', () => {
    const r = verifyStream([ev('r', 1, 0, ''), ev('u', 1, 2, '0/40', 1)], db([{ id: 1, v: 2 }]), full);
    expect(r.chainBreaks).toBe(1);
    expect(r.lost).toBe(1);
  });

  test('a missing insert or delete shows in the final state', () => {
    expect(verifyStream(stream.slice(0, 3), db([{ id: 1, v: 1 }]), full).tables[0]!.extraRows).toBe(1);
    expect(
      verifyStream(
        stream,
        db([
          { id: 1, v: 1 },
          { id: 3, v: 0 },
        ]),
        full,
      ).tables[0]!.missingRows,
    ).toBe(1);
  });
});
