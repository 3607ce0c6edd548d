import { describe, expect, it } from 'vitest';
import { CodecError, codecNames, createCodec } from '../../src/core/codecs.js';
import { localToUtcIso, utcIsoToLocal } from '../../src/core/local-time.js';

describe('codecs, both directions', () => {
  it('trim strips CHAR padding on read and pads to the width on write', () => {
    const c = createCodec('trim', { length: 8 });
    expect(c.decode('ACME    ')).toBe('ACME');
    expect(c.encode('ACME')).toBe('ACME    ');
    expect(c.decode(null)).toBeNull();
    expect(() => c.parseText('123456789')).toThrow(CodecError);
    expect(createCodec('trim').encode('x')).toBe('x');
  });

  it('yn maps configured letters', () => {
    const c = createCodec('yn');
    expect([c.decode('Y'), c.decode('N'), c.decode('?'), c.decode(null)]).toEqual([true, false, null, null]);
    expect([c.encode(true), c.encode(false)]).toEqual(['Y', 'N']);
    const t = createCodec('yn', { true: 'T', false: 'F' });
    expect([t.decode('T '), t.encode(false), t.parseText('true')]).toEqual([true, 'F', true]);
    expect(() => t.parseText('yes')).toThrow(CodecError);
  });

  it('yyyymmdd handles integer and CHAR(8) storage', () => {
    const i = createCodec('yyyymmdd');
    expect(i.decode(20240131)).toBe('2024-01-31');
    expect(i.decode(0)).toBeNull();
    expect(i.decode(20240231)).toBeNull();
    expect(i.encode('2024-01-31')).toBe(20240131);
    const c = createCodec('yyyymmdd', { storage: 'char' });
    expect(c.decode('20240131')).toBe('2024-01-31');
    expect(c.encode('2024-01-31')).toBe('20240131');
    expect(() => c.parseText('2024-13-01')).toThrow(CodecError);
  });

  it('decimal keeps exact digits and pads to the scale', () => {
    const c = createCodec('decimal', { scale: 2 });
    expect([c.decode('1520.5'), c.decode(7), c.decode('1.005')]).toEqual(['1520.50', '7.00', '1.005']);
    expect(c.encode('12.50')).toBe('12.50');
    expect(() => c.parseText('1e5')).toThrow(CodecError);
  });

  it('cents converts integers to decimal strings without floats', () => {
    const c = createCodec('cents');
    expect([c.decode(152000), c.decode(-5), c.decode('9007199254740993'), c.decode(0)]).toEqual([
      '1520.00',
      '-0.05',
      '90071992547409.93',
      '0.00',
    ]);
    expect([c.encode('1520'), c.encode('1520.5'), c.encode('-0.50'), c.encode('90071992547409.93')]).toEqual([
      152000,
      152050,
      -50,
      '9007199254740993',
    ]);
    expect(() => c.parseText('1.234')).toThrow(CodecError);
  });

  it('enum maps stored codes to API values', () => {
    const c = createCodec('enum', { values: { A: 'active', I: 'inactive' } });
    expect([c.decode('A'), c.decode('I '), c.decode('X')]).toEqual(['active', 'inactive', null]);
    expect(c.encode('inactive')).toBe('I');
    expect(() => c.parseText('gone')).toThrow(CodecError);
    expect(() => createCodec('enum', { values: {} })).toThrow(CodecError);
  });

  it('localTimestamp converts a zone-less local time to UTC and back, across DST', () => {
    const c = createCodec('localTimestamp', { timeZone: 'Europe/Paris' });
    expect(c.decode('2024-01-15 10:00:00')).toBe('2024-01-15T09:00:00Z');
    expect(c.decode('2024-07-15 10:00:00.123456')).toBe('2024-07-15T08:00:00.123456Z');
    expect(c.encode('2024-07-15T08:00:00.5Z')).toBe('2024-07-15 10:00:00.5');
    expect(c.encode('2024-07-15T10:00:00+02:00')).toBe('2024-07-15 10:00:00');
    expect(localToUtcIso('2024-03-10 12:00:00', 'America/New_York')).toBe('2024-03-10T16:00:00Z');
    expect(utcIsoToLocal('2024-11-03T05:30:00Z', 'America/New_York')).toBe('2024-11-03 01:30:00');
    expect(c.decode('not a date')).toBeNull();
    expect(c.decode('2024-02-30 10:00:00')).toBeNull();
    expect(c.decode('2024-07-15 10:00:00.120000')).toBe('2024-07-15T08:00:00.12Z');
    expect(localToUtcIso('1965-05-01 00:00:00', 'UTC')).toBe('1965-05-01T00:00:00Z');
    expect(localToUtcIso('2000-02-29 23:59:59', 'Asia/Kolkata')).toBe('2000-02-29T18:29:59Z');
  });

  it('localTimestamp keeps years 0-99 (legacy sentinels like 0001-01-01), which Date.UTC reads as 19xx', () => {
    expect(localToUtcIso('0001-01-01 00:00:00', 'UTC')).toBe('0001-01-01T00:00:00Z');
    expect(localToUtcIso('0001-01-01', 'UTC')).toBe('0001-01-01T00:00:00Z');
    expect(localToUtcIso('0004-02-29 12:00:00', 'UTC')).toBe('0004-02-29T12:00:00Z');
    expect(localToUtcIso('0099-12-31 23:59:59.5', 'UTC')).toBe('0099-12-31T23:59:59.5Z');
    expect(utcIsoToLocal('0001-01-01T00:00:00Z', 'UTC')).toBe('0001-01-01 00:00:00');
    expect(utcIsoToLocal('0050-06-01T12:00:00Z', 'UTC')).toBe('0050-06-01 12:00:00');
  });

  it('formats UTC instants like Date.toISOString over centuries', () => {
    for (let i = 0; i < 2000; i++) {
      const ms = Math.floor(((Math.random() * 2 - 0.5) * 8e12) / 1000) * 1000;
      const iso = new Date(ms).toISOString().slice(0, 19);
      if (iso.startsWith('-') || iso.startsWith('+')) continue;
      expect(localToUtcIso(iso.replace('T', ' '), 'UTC')).toBe(`${iso}Z`);
    }
  });

  it('int, string, boolean and json', () => {
    const i = createCodec('int', { min: 0 });
    expect([i.decode('42'), i.decode(7n), i.parseText('12')]).toEqual([42, 7, 12]);
    expect(() => i.parseText('-1')).toThrow(CodecError);
    expect(() => i.parseText('1; drop table x')).toThrow(CodecError);
    const s = createCodec('string', { maxLength: 3 });
    expect(() => s.parseText('abcd')).toThrow(CodecError);
    const b = createCodec('boolean', { storage: 'integer' });
    expect([b.decode(1), b.decode('f'), b.encode(true)]).toEqual([true, false, 1]);
    expect(createCodec('boolean').encode(false)).toBe(false);
    const j = createCodec('json');
    expect(j.decode('{"a":1}')).toEqual({ a: 1 });
    expect(j.decode({ a: 1 })).toEqual({ a: 1 });
    expect(j.encode({ a: 1 })).toBe('{"a":1}');
    expect(() => j.parseText('x')).toThrow(CodecError);
  });

  it('every codec round-trips a value through encode and decode', () => {
    const samples: Record<string, [unknown, unknown]> = {
      string: ['x', {}],
      trim: ['ab', { length: 4 }],
      yn: [true, {}],
      boolean: [false, {}],
      yyyymmdd: ['1999-12-31', {}],
      decimal: ['3.14', {}],
      cents: ['3.14', {}],
      enum: ['b', { values: { A: 'a', B: 'b' } }],
      localTimestamp: ['2024-05-01T00:00:00Z', { timeZone: 'Asia/Tokyo' }],
      int: [-3, {}],
      json: [{ k: [1, 'x'] }, {}],
    };
    for (const name of codecNames) {
      const [value, options] = samples[name]!;
      const c = createCodec(name, options);
      expect(c.decode(c.encode(value)), name).toEqual(value);
    }
  });
});
