import { describe, expect, test } from 'vitest';
import { compareLsn, lsnToBigInt, pgOffsetCodec } from '../../adapters/postgres/postgres-offset.js';

describe('PostgreSQL offsets', () => {
  test('LSNs compare as numbers, never as strings', () => {
    expect(compareLsn('0/9', '0/10')).toBeLessThan(0);
    expect('0/9' > '0/10').toBe(true); // the bug string comparison would have
    expect(compareLsn('1/0', '0/FFFFFFFF')).toBeGreaterThan(0);
    expect(compareLsn('00000000/016B3748', '0/16B3748')).toBe(0);
    expect(lsnToBigInt('1/0')).toBe(4294967296n);
    expect(() => lsnToBigInt('nope')).toThrow(/not an LSN/);
  });

  test('the codec round-trips, orders snapshot progress before the streamed position, and refuses foreign text', () => {
    const snap = {
      lsn: '0/100',
      snapshot: { table: 'public.t', after: [5], ordinal: 10, position: 'snapshot@0/100' },
    };
    const done = { lsn: '0/100' };
    expect(pgOffsetCodec.parse(pgOffsetCodec.serialize(snap))).toEqual(snap);
    expect(pgOffsetCodec.compare(snap, done)).toBeLessThan(0);
    expect(pgOffsetCodec.compare(done, { lsn: '0/FF' })).toBeGreaterThan(0);
    expect(() => pgOffsetCodec.parse('{"binlog":"x"}')).toThrow(/unreadable PostgreSQL offset/);
    expect(pgOffsetCodec.describe(snap)).toMatch(/snapshot of public.t/);
  });
});
