import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../../src/resources/cursor.js';
import { parseFilterParam, QuerySyntaxError } from '../../../src/resources/filter-grammar.js';
import { parsePrefer } from '../../../src/http/prefer.js';
import { ifMatchSatisfied, ifNoneMatchHit } from '../../../src/http/etag.js';

describe('PostgREST filter grammar', () => {
  it('parses operators, not., in lists with quotes, and nested or/and', () => {
    expect(parseFilterParam('status', 'eq.OPEN')).toEqual({
      kind: 'cond',
      field: 'status',
      op: 'eq',
      negate: false,
      value: 'OPEN',
    });
    expect(parseFilterParam('name', 'not.like.AC*')).toMatchObject({
      op: 'like',
      negate: true,
      value: 'AC*',
    });
    expect(parseFilterParam('id', 'in.(a,"b,c",d)')).toMatchObject({ op: 'in', value: ['a', 'b,c', 'd'] });
    expect(parseFilterParam('x', 'eq.a.b')).toMatchObject({ value: 'a.b' });
    expect(parseFilterParam('or', '(a.eq.1,and(b.gt.2,c.is.null),not.or(d.lt.0))')).toEqual({
      kind: 'or',
      negate: false,
      items: [
        { kind: 'cond', field: 'a', op: 'eq', negate: false, value: '1' },
        {
          kind: 'and',
          negate: false,
          items: [
            { kind: 'cond', field: 'b', op: 'gt', negate: false, value: '2' },
            { kind: 'cond', field: 'c', op: 'is', negate: false, value: 'null' },
          ],
        },
        {
          kind: 'or',
          negate: true,
          items: [{ kind: 'cond', field: 'd', op: 'lt', negate: false, value: '0' }],
        },
      ],
    });
    expect(parseFilterParam('not.and', '(a.eq.1,b.eq.2)')).toMatchObject({ kind: 'and', negate: true });
  });

  it('rejects what it does not understand', () => {
    for (const [k, v] of [
      ['a', 'eq'],
      ['a', 'between.1'],
      ['a', 'in.1,2'],
      ['a', 'is.maybe'],
      ['or', 'a.eq.1'],
      ['or', '(a.eq.1'],
      ['or', '(a.eq."1)'],
      ['or', '()'],
      ['or', `(${'or('.repeat(20)}a.eq.1${')'.repeat(21)}`],
    ] as const)
      expect(() => parseFilterParam(k, v), `${k}=${v}`).toThrow(QuerySyntaxError);
  });
});

describe('cursors, Prefer and ETags', () => {
  it('round-trips cursors and refuses foreign or tampered ones', () => {
    const c = encodeCursor('balance.desc,id.asc', ['12.50', 'C1', null]);
    expect(decodeCursor(c, 'balance.desc,id.asc', 3)).toEqual(['12.50', 'C1', null]);
    expect(() => decodeCursor(c, 'id.asc', 3)).toThrow(/another order/);
    expect(() => decodeCursor(c, 'balance.desc,id.asc', 2)).toThrow(QuerySyntaxError);
    expect(() => decodeCursor('!!', 'x', 1)).toThrow(QuerySyntaxError);
    const forged = Buffer.from(
      JSON.stringify({ o: JSON.parse(Buffer.from(c, 'base64url').toString()).o, v: [{ a: 1 }, 'x', null] }),
    ).toString('base64url');
    expect(() => decodeCursor(forged, 'balance.desc,id.asc', 3)).toThrow(QuerySyntaxError);
  });

  it('parses Prefer and evaluates If-Match / If-None-Match', () => {
    expect(parsePrefer('return=minimal, count=exact')).toEqual({ return: 'minimal', count: 'exact' });
    expect(parsePrefer('count=planned')).toEqual({ count: 'estimated' });
    expect(parsePrefer('handling=strict')).toEqual({});
    expect(ifMatchSatisfied('"a", "b"', '"b"')).toBe(true);
    expect(ifMatchSatisfied('W/"b"', '"b"')).toBe(false);
    expect(ifMatchSatisfied('*', undefined)).toBe(false);
    expect(ifNoneMatchHit('W/"b"', '"b"')).toBe(true);
  });
});
