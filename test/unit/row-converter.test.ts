// Compiled row converters and the codecs' fast paths give exactly what the generic paths give.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createCodec } from '../../src/core/codecs.js';
import { localToUtcIso } from '../../src/core/local-time.js';
import { ResourceMapping, type FieldSpec, type ResourceSpec } from '../../src/core/mapping.js';
import { compileConverter, loopConverter } from '../../src/core/row-converter.js';

const field = (column: string, codec: FieldSpec['codec'], options = {}): FieldSpec => ({
  column,
  codec,
  options,
  nullable: true,
  readOnly: false,
  generated: false,
});

const spec: ResourceSpec = {
  table: 'custmast',
  key: ['id'],
  fields: {
    id: field('cust_no', 'trim', { length: 8 }),
    name: field('cust_nm', 'trim'),
    active: field('actv_flg', 'yn'),
    createdOn: field('crt_dt', 'yyyymmdd'),
    balance: field('bal_amt', 'decimal', { scale: 2 }),
    creditLimit: field('cr_lmt_cents', 'cents'),
    status: field('stat_cd', 'enum', { values: { A: 'active', I: 'inactive' } }),
    updatedAt: field('upd_ts', 'localTimestamp', { timeZone: 'Europe/Paris' }),
    notes: field('notes', 'json'),
  },
};

const rows = [
  {
    cust_no: 'C0001   ',
    cust_nm: 'ACME  ',
    actv_flg: 'Y',
    crt_dt: 20240131,
    bal_amt: '10.5',
    cr_lmt_cents: 152000,
    stat_cd: 'I',
    upd_ts: '2024-07-15 10:00:00.120000',
    notes: '{"a":1}',
    other: 'not mapped',
  },
  {
    cust_no: 'C0002',
    cust_nm: null,
    actv_flg: 'N ',
    crt_dt: 0,
    bal_amt: null,
    cr_lmt_cents: '9007199254740993',
    stat_cd: 'X',
    upd_ts: null,
    notes: null,
  },
  {},
];

describe('row converters', () => {
  const mapping = new ResourceMapping('customers', spec);
  const all = [...mapping.fields.values()];

  it('compiled and generic converters agree, field order included', () => {
    const subsets = [all, all.slice(2, 5), [all[7]!, all[0]!], []];
    for (const fields of subsets)
      for (const row of rows) {
        const got = compileConverter(fields)(row);
        expect(got).toEqual(loopConverter(fields)(row));
        expect(Object.keys(got)).toEqual(fields.map((f) => f.name));
      }
    expect(mapping.toApi(rows[0]!)).toEqual({
      id: 'C0001',
      name: 'ACME',
      active: true,
      createdOn: '2024-01-31',
      balance: '10.50',
      creditLimit: '1520.00',
      status: 'inactive',
      updatedAt: '2024-07-15T08:00:00.12Z',
      notes: { a: 1 },
    });
  });

  it('one converter per field list, reused; different lists do not collide', () => {
    const a = mapping.converter([all[0]!, all[1]!]);
    expect(mapping.converter([all[0]!, all[1]!])).toBe(a);
    const b = mapping.converter([all[1]!, all[0]!]);
    expect(b).not.toBe(a);
    expect(Object.keys(b(rows[0]!))).toEqual(['name', 'id']);
    expect(mapping.converter()).toBe(mapping.converter(all));
    expect(mapping.converter([all[0]!])(rows[0]!)).toEqual({ id: 'C0001' });
  });

  it('names and columns are data, never code', () => {
    const odd = new ResourceMapping('odd', {
      table: 't',
      key: ['__proto__'],
      fields: {
        ['__proto__']: field('x', 'string'),
        quoted: field('a"b\\c\u2028d', 'string'),
        injected: field("'); throw new Error('x'); ('", 'string'),
      },
    });
    const row = { x: 'p', 'a"b\\c\u2028d': 'q', "'); throw new Error('x'); ('": 'r' };
    const out = odd.toApi(row);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe('{"__proto__":"p","quoted":"q","injected":"r"}');
  });
});

describe('codec fast paths match the text paths', () => {
  it('localTimestamp: the common driver shape equals the regex path (reached through padding)', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    const text = fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 0, max: 24 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 0, max: 60 }),
        fc.constantFrom('', '.0', '.5', '.120000', '.123456789', '.000000'),
        fc.constantFrom(' ', 'T'),
      )
      .map(
        ([y, mo, d, h, mi, s, frac, sep]) =>
          `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}${sep}${two(h)}:${two(mi)}:${two(s)}${frac}`,
      );
    const zone = fc.constantFrom(
      'UTC',
      'Europe/Paris',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'America/St_Johns',
      'Pacific/Chatham',
    );
    fc.assert(
      fc.property(text, zone, (t, tz) => {
        expect(localToUtcIso(t, tz)).toBe(localToUtcIso(` ${t}`, tz));
      }),
      { numRuns: 3000 },
    );
    // Every minute of the days around 2024's DST changes (gaps, repeated hours, half-hour shifts).
    const days: [string, string[]][] = [
      ['America/New_York', ['2024-03-10', '2024-11-03']],
      ['Europe/Paris', ['2024-03-31', '2024-10-27']],
      ['Australia/Lord_Howe', ['2024-04-07', '2024-10-06']],
      ['America/St_Johns', ['2024-03-10', '2024-11-03']],
    ];
    for (const [tz, dates] of days)
      for (const date of dates)
        for (let m = 0; m < 24 * 60; m += 3) {
          const t = `${date} ${two(Math.floor(m / 60))}:${two(m % 60)}:07`;
          expect(localToUtcIso(t, tz), `${t} ${tz}`).toBe(localToUtcIso(` ${t}`, tz));
        }
    expect(localToUtcIso('2024-07-15 10:00:00.', 'UTC')).toBeNull();
    expect(localToUtcIso('2024-07-15 10:00:00.1234567890', 'UTC')).toBeNull();
    expect(localToUtcIso('2024-07-15x10:00:00', 'UTC')).toBeNull();
  });

  it('string and trim: filter and key text within the length skips the schema, past it fails as before', () => {
    for (const c of [createCodec('trim', { length: 3 }), createCodec('string', { maxLength: 3 })]) {
      expect(['', 'ab', 'abc', 'é€😀'.slice(0, 3)].map((t) => c.parseText(t))).toEqual([
        '',
        'ab',
        'abc',
        'é€\ud83d',
      ]);
      expect(() => c.parseText('abcd')).toThrow(/too big|at most|<=3/i);
    }
    expect(createCodec('trim').parseText('x'.repeat(1000))).toBe('x'.repeat(1000));
  });

  it('yyyymmdd and cents: numbers read like their text', () => {
    const date = createCodec('yyyymmdd');
    const cents = createCodec('cents');
    const cents0 = createCodec('cents', { scale: 0 });
    fc.assert(
      fc.property(fc.integer({ min: 9_000_000, max: 100_000_000 }), (n) => {
        expect(date.decode(n)).toBe(date.decode(String(n)));
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.maxSafeInteger(), (n) => {
        expect(cents.decode(n)).toBe(cents.decode(String(n)));
        expect(cents0.decode(n)).toBe(cents0.decode(String(n)));
      }),
    );
    expect([date.decode(20240131.5), date.decode(-20240131)]).toEqual([null, null]);
    expect([cents.decode(-0.5), cents.decode(12.99), cents.decode(1e300), cents.decode(Number.NaN)]).toEqual([
      '0.00',
      '0.12',
      cents.decode(BigInt(1e300).toString()),
      null,
    ]);
  });
});
