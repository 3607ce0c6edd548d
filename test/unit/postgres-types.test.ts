import { describe, expect, test } from 'vitest';
import { TypeDecoders } from '../../adapters/postgres/postgres-types.js';

const t = new TypeDecoders();

describe('PostgreSQL text → event values', () => {
  test.each([
    [20, '9007199254740991', 9007199254740991],
    [20, '9007199254740993', '9007199254740993'],
    [20, '-9223372036854775808', '-9223372036854775808'],
    [1700, '0.10', '0.10'],
    [1700, 'NaN', 'NaN'],
    [701, 'Infinity', 'Infinity'],
    [700, '1.5', 1.5],
    [16, 't', true],
    [16, 'f', false],
    [1184, '2024-01-02 03:04:05.123456+00', '2024-01-02T03:04:05.123456Z'],
    [1184, 'infinity', 'infinity'],
    [1114, '2024-01-02 03:04:05', '2024-01-02T03:04:05'],
    [1082, '2024-02-29', '2024-02-29'],
    [17, '\\x00ff', 'AP8='],
    [790, '-$1,520.00', '-1520.00'],
    [1042, 'AB   ', 'AB   '],
    [3802, '{"a":[1,2]}', { a: [1, 2] }],
    [1007, '{1,NULL,3}', [1, null, 3]],
    [1009, '{"a,b","c\\"d"}', ['a,b', 'c"d']],
    [1016, '{9007199254740993}', ['9007199254740993']],
  ])('oid %i: %s', (oid, text, expected) => {
    expect(t.decode(oid, text)).toEqual(expected);
  });

  test('enums, domains and their arrays are learned from the catalog', () => {
    const d = new TypeDecoders();
    expect(d.unknown([23, 50001, 50002, 50003])).toEqual([50001, 50002, 50003]);
    d.learn([
      { oid: 50001, typtype: 'e', elem: 0, base: 0, category: 'E' },
      { oid: 50002, typtype: 'b', elem: 50001, base: 0, category: 'A' },
      { oid: 50003, typtype: 'd', elem: 0, base: 20, category: 'N' },
    ]);
    expect(d.decode(50001, 'happy')).toBe('happy');
    expect(d.decode(50002, '{happy,sad}')).toEqual(['happy', 'sad']);
    expect(d.decode(50003, '12')).toBe(12);
    expect(d.decode(50003, null)).toBeNull();
  });
});
