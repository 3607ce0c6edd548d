// SQL Server offsets: binary(10) LSNs compared as unsigned bytes, then seqval, then operation.
import { describe, expect, it } from 'vitest';
import {
  compareCdc,
  compareLsn,
  lsnHex,
  lsnText,
  MAX_SEQVAL,
  mssqlOffsetCodec,
  type CdcOffset,
  type MssqlOffset,
} from '../../adapters/mssql/mssql-offset.js';

const cdc = (lsn: string, seqval: string, op: number): CdcOffset => ({ mode: 'cdc', lsn, seqval, op });

describe('SQL Server LSN offsets', () => {
  it('LSN byte order: a higher virtual log file wins over any block or slot; the high bit is unsigned', () => {
    expect(compareLsn('00000026000000000001', '00000025ffffffffffff')).toBeGreaterThan(0);
    expect(compareLsn('0000002500000100000a', '000000250000009f000b')).toBeGreaterThan(0);
    expect(compareLsn('80000000000000000000', '7fffffffffffffffffff')).toBeGreaterThan(0);
    // Driver Buffers, hex with 0x and upper case all read as the same LSN.
    const b = Buffer.from('00000025000000ff00A2', 'hex');
    expect(lsnHex(b)).toBe('00000025000000ff00a2');
    expect(lsnHex('0x00000025000000FF00A2')).toBe('00000025000000ff00a2');
    expect(() => lsnHex(Buffer.alloc(8))).toThrow(/binary\(10\)/);
    expect(lsnText('00000025000000ff00a2')).toBe('00000025:000000ff:00a2');
  });

  it('equal commit LSNs across tables order by seqval, then operation', () => {
    const orders = cdc('000000250000009f0004', '000000250000009e0002', 2);
    const customers = cdc('000000250000009f0004', '000000250000009e0003', 4);
    expect(compareCdc(orders, customers)).toBeLessThan(0);
    expect(compareCdc(customers, orders)).toBeGreaterThan(0);
  });

  it('an update split across seqvals: each pair stays together and in seqval order, 3 before 4', () => {
    const rows = [
      cdc('00000025000001000002', '00000025000000ff0100', 4),
      cdc('00000025000001000002', '00000025000000ff00ff', 4),
      cdc('00000025000001000002', '00000025000000ff0100', 3),
      cdc('00000025000001000002', '00000025000000ff00ff', 3),
      cdc('00000025000001000002', '00000025000000ff0001', 2),
      cdc('00000025000001000002', '00000025000000ff0001', 1),
    ];
    const sorted = [...rows]
      .sort((a, b) => mssqlOffsetCodec.compare(a, b))
      .map((o) => (o.mode === 'cdc' ? `${o.seqval.slice(-4)}:${o.op}` : ''));
    expect(sorted).toEqual(['0001:1', '0001:2', '00ff:3', '00ff:4', '0100:3', '0100:4']);
  });

  it('the end of a commit comes after every change of it and before the next commit', () => {
    const end = cdc('00000025000001000002', MAX_SEQVAL, 4);
    expect(
      mssqlOffsetCodec.compare(end, cdc('00000025000001000002', '00000025000000ff0100', 4)),
    ).toBeGreaterThan(0);
    expect(
      mssqlOffsetCodec.compare(end, cdc('00000025000001000003', '00000025000001000001', 1)),
    ).toBeLessThan(0);
  });

  it('serialize/parse round-trips, normalises case, and refuses what it did not write', () => {
    const o = cdc('00000025000000FF00A2', '00000025000000ff00a1', 3);
    expect(mssqlOffsetCodec.parse(mssqlOffsetCodec.serialize(o))).toEqual({
      ...o,
      lsn: '00000025000000ff00a2',
    });
    expect(mssqlOffsetCodec.parse('{"mode":"changeTracking","version":"9007199254740993"}')).toEqual({
      mode: 'changeTracking',
      version: '9007199254740993',
    });
    expect(() => mssqlOffsetCodec.parse('{"mode":"cdc","lsn":"0/16B3748","seqval":"x","op":2}')).toThrow(
      /SQL Server offset/,
    );
    expect(() => mssqlOffsetCodec.parse('{"lsn":"0/16B3748"}')).toThrow(/SQL Server offset/);
  });

  it('Change Tracking versions compare as integers beyond 2^53, not as text', () => {
    const a: MssqlOffset = { mode: 'changeTracking', version: '9007199254740993' };
    const b: MssqlOffset = { mode: 'changeTracking', version: '10' };
    expect(mssqlOffsetCodec.compare(a, b)).toBeGreaterThan(0);
    expect(mssqlOffsetCodec.compare(b, { mode: 'changeTracking', version: '9' })).toBeGreaterThan(0);
    expect(() => mssqlOffsetCodec.compare(a, cdc('00000025000001000002', MAX_SEQVAL, 4))).toThrow(
      /cannot be compared/,
    );
    expect(mssqlOffsetCodec.describe(cdc('00000025000001000002', MAX_SEQVAL, 4))).toBe(
      'after commit 00000025:00000100:0002',
    );
  });
});
