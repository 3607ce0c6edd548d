import { describe, expect, it } from 'vitest';
import { ResourceMapping, type FieldSpec } from '../../src/core/mapping.js';
import { QuerySyntaxError } from '../../src/resources/filter-grammar.js';
import { compileRowPredicate, parseFilterQuery } from '../../src/resources/filter-match.js';

const field = (column: string, codec: FieldSpec['codec'], options = {}): FieldSpec => ({
  column,
  codec,
  options,
  nullable: true,
  readOnly: false,
  generated: false,
});

const mapping = new ResourceMapping('employees', {
  table: 'public.emp',
  key: ['id'],
  fields: {
    id: field('emp_no', 'int'),
    name: field('emp_nm', 'trim'),
    dept: field('dept_cd', 'trim'),
    active: field('actv_flg', 'yn'),
    salary: field('sal_amt', 'decimal'),
    hiredOn: field('hire_dt', 'yyyymmdd'),
  },
});

const match = (query: string) => compileRowPredicate(parseFilterQuery(query), (n) => mapping.field(n));

const ann = { id: 1, name: 'Ann Lee', dept: 'ENG', active: true, salary: '1500.50', hiredOn: '2020-01-05' };
const bob = { id: 2, name: 'Bob', dept: 'OPS', active: false, salary: '999.99', hiredOn: null };

describe('filters evaluated on API-shaped rows', () => {
  it('compares through the codec, as the REST list does', () => {
    expect(match('dept=eq.ENG')(ann)).toBe(true);
    expect(match('dept=eq.ENG')(bob)).toBe(false);
    expect(match('active=is.true')(ann)).toBe(true);
    expect(match('active=eq.false')(bob)).toBe(true);
    expect(match('id=in.(2,3)')(bob)).toBe(true);
    expect(match('hiredOn=gte.2020-01-01')(ann)).toBe(true);
    expect(match('name=like.Ann*')(ann)).toBe(true);
    expect(match('name=ilike.*LEE')(ann)).toBe(true);
    expect(match('name=like.Ann')(ann)).toBe(false);
  });

  it('orders decimals by value, not as text or floats', () => {
    expect(match('salary=gt.999.995')(bob)).toBe(false);
    expect(match('salary=gte.1000')(ann)).toBe(true);
    expect(match('salary=lt.1000')(bob)).toBe(true);
    expect(match('salary=eq.1500.5')(ann)).toBe(true);
    expect(match('salary=gt.-1')(bob)).toBe(true);
    expect(match('salary=lt.-1')(bob)).toBe(false);
    const big = { ...ann, salary: '12345678901234567.01' };
    expect(match('salary=gt.12345678901234567')(big)).toBe(true);
    expect(match('salary=lt.12345678901234567.02')(big)).toBe(true);
  });

  it('treats a comparison with null as unknown, negated or not', () => {
    expect(match('hiredOn=is.null')(bob)).toBe(true);
    expect(match('hiredOn=not.is.null')(bob)).toBe(false);
    expect(match('hiredOn=eq.2020-01-05')(bob)).toBe(false);
    expect(match('hiredOn=not.eq.2020-01-05')(bob)).toBe(false);
    expect(match('hiredOn=neq.2020-01-05')(bob)).toBe(false);
    expect(match('hiredOn=neq.2020-01-06')(ann)).toBe(true);
  });

  it('ANDs parameters and evaluates or/and/not groups', () => {
    expect(match('dept=eq.ENG&active=is.true')(ann)).toBe(true);
    expect(match('dept=eq.ENG&active=is.false')(ann)).toBe(false);
    expect(match('or=(dept.eq.OPS,salary.gt.1000)')(ann)).toBe(true);
    expect(match('or=(dept.eq.OPS,salary.gt.1000)')(bob)).toBe(true);
    expect(match('not.or=(dept.eq.OPS,salary.gt.1000)')(bob)).toBe(false);
    expect(match('and=(dept.eq.ENG,or(id.eq.1,id.eq.5))')(ann)).toBe(true);
    // unknown OR true is true; unknown AND true is unknown (no match)
    expect(match('or=(hiredOn.eq.2020-01-01,id.eq.2)')(bob)).toBe(true);
    expect(match('and=(hiredOn.eq.2020-01-01,id.eq.2)')(bob)).toBe(false);
  });

  it('refuses unknown fields, operators on the wrong type and values the codec refuses', () => {
    expect(() => match('nope=eq.1')).toThrow(QuerySyntaxError);
    expect(() => match('salary=like.1*')).toThrow(/text fields only/);
    expect(() => match('id=eq.abc')).toThrow(QuerySyntaxError);
    expect(() => match('hiredOn=eq.yesterday')).toThrow(QuerySyntaxError);
  });
});
