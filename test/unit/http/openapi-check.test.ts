// The suite's OpenAPI checker (test/support/openapi-check.ts) must see the violations issue 18
// lists: partial rows against required fields, undeclared properties, statuses and bodies, a
// missing required header, and an accepted request the document refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenApiCheck } from '../../support/openapi-check.js';
import { startHarness, type Harness } from './harness.js';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers({ 'content-type': 'application/json', ...headers }),
  text: JSON.stringify(body),
});
const row = {
  id: 'C0001',
  name: 'A',
  active: true,
  createdOn: null,
  balance: '1.00',
  creditLimit: '2.00',
  status: 'active',
  updatedAt: null,
  notes: null,
};

describe('the OpenAPI response checker', () => {
  let h: Harness;
  let doc: Record<string, unknown>;
  beforeAll(async () => {
    h = await startHarness();
    doc = (await h.request('GET', '/api/openapi.json')).json;
  });
  afterAll(() => h.close());
  const get = (path: string) => ({ method: 'GET', path, headers: {} });

  it('accepts what the document declares', async () => {
    const c = await OpenApiCheck.create(doc);
    expect(c.check(get('/api/customers/C0001'), json(200, row, { etag: '"x"' }))).toEqual([]);
    expect(
      c.check(get('/api/customers/C0001?select=id'), json(200, { id: 'C0001' }, { etag: '"x"' })),
    ).toEqual([]);
  });

  it('reports a partial row where every field is required (select, item 1)', async () => {
    const strict = structuredClone(doc) as {
      components: { schemas: Record<string, Record<string, unknown>> };
    };
    const sel = strict.components.schemas.CustomersSelection!;
    sel.required = Object.keys(sel.properties as object).filter((k) => !k.includes('@') && k !== 'orders');
    const c = await OpenApiCheck.create(strict);
    expect(
      c.check(get('/api/customers/C0001?select=id'), json(200, { id: 'C0001' }, { etag: '"x"' })),
    ).not.toEqual([]);
  });

  it('reports undeclared properties, nulls, statuses, bodies and missing headers', async () => {
    const c = await OpenApiCheck.create(doc);
    const item = get('/api/customers/C0001');
    expect(c.check(item, json(200, { ...row, dept: {} }, { etag: '"x"' })).join()).toMatch(/additional/);
    expect(c.check(item, json(200, { ...row, id: null }, { etag: '"x"' })).join()).toMatch(/body/);
    expect(c.check(item, json(200, row)).join()).toMatch(/required header ETag missing/);
    expect(c.check(item, json(418, row)).join()).toMatch(/status 418 not declared/);
    expect(c.check(item, { status: 200, headers: new Headers({ etag: '"x"' }), text: '' }).join()).toMatch(
      /content-type/,
    );
    expect(c.check({ ...item, method: 'DELETE' }, json(204, row)).join()).toMatch(/body sent/);
    expect(c.check(get('/nowhere'), json(200, {})).join()).toMatch(/no operation/);
    const problem = (status: number, body: unknown) => ({
      status,
      headers: new Headers({ 'content-type': 'application/problem+json' }),
      text: JSON.stringify(body),
    });
    expect(c.check(get('/api/orders/C0003'), problem(400, { type: 't', title: 'x', status: 400 }))).toEqual(
      [],
    );
    expect(c.check(get('/api/orders/C0003'), problem(400, { title: 'x' })).join()).toMatch(/problem body/);
  });

  it('reports an accepted request that the document refuses (limit over maxLimit, bad filter)', async () => {
    const c = await OpenApiCheck.create(doc);
    const page = json(200, { data: [], next: null });
    expect(c.check(get('/api/customers?limit=501'), page).join()).toMatch(/accepted request is invalid/);
    expect(c.check(get('/api/customers?balance=zz.1'), page).join()).toMatch(/accepted request is invalid/);
    expect(
      c.check(get('/api/customers?limit=500&balance=gte.1&balance=lte.2&not.or=(id.eq.1)'), page),
    ).toEqual([]);
  });
});
