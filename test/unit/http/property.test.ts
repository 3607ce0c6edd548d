// Random filters, cursors, orders, keys and bodies never produce a 5xx (fast-check).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startHarness, type Harness } from './harness.js';

const fields = [
  'id',
  'name',
  'active',
  'createdOn',
  'balance',
  'creditLimit',
  'status',
  'updatedAt',
  'notes',
  'nope',
  'or',
  'and',
  'not.or',
];
const ops = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'like',
  'ilike',
  'in',
  'is',
  'not.eq',
  'not.in',
  'bogus',
  '',
];
const values = fc.oneof(
  fc.string(),
  fc.constantFrom(
    'true',
    'false',
    'null',
    '2024-01-01',
    '2024-02-30',
    '12.50',
    '-1',
    '1e9',
    '99999999999999999999999',
    '(a,b)',
    '("x,y",z)',
    '*',
    "'",
    '(',
    ')',
    '2024-07-02T09:00:00Z',
  ),
  fc.integer().map(String),
);

describe('property: no input gives a 5xx', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('random filters, orders, selects, limits and cursors', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom(...fields), fc.constantFrom(...ops), values), { maxLength: 4 }),
        fc.option(fc.constantFrom('name', 'balance.desc', 'status.asc,id.desc', 'nope', 'id.sideways', ',')),
        fc.option(fc.oneof(fc.string(), fc.base64String())),
        fc.option(fc.oneof(fc.integer({ min: -5, max: 2000 }).map(String), fc.string())),
        async (filters, order, cursor, limit) => {
          const qs = new URLSearchParams();
          for (const [f, op, v] of filters) qs.append(f, op ? `${op}.${v}` : v);
          if (order !== null) qs.set('order', order);
          if (cursor !== null) qs.set('cursor', cursor);
          if (limit !== null) qs.set('limit', limit);
          const r = await h.request('GET', `/api/customers?${qs.toString()}`);
          expect(r.status, `${qs.toString()} → ${r.text}`).toBeLessThan(500);
          if (r.status >= 400) expect(r.headers.get('content-type')).toBe('application/problem+json');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random keys and bodies on every write method', async () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          id: fc.oneof(fc.string(), fc.integer()),
          name: fc.oneof(fc.string(), fc.constant(null)),
          active: fc.oneof(fc.boolean(), fc.string()),
          createdOn: fc.oneof(fc.string(), fc.constant('2024-02-29')),
          creditLimit: fc.oneof(fc.string(), fc.double()),
          status: fc.string(),
          notes: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('POST', 'PUT', 'PATCH', 'DELETE', 'GET'),
        fc.oneof(fc.string(), fc.constantFrom('C0001', 'C0002,1', '%', '%zz')),
        body,
        async (method, key, b) => {
          const path =
            method === 'POST' ? '/api/customers' : `/api/customers/${encodeURIComponent(key) || 'x'}`;
          const r = await h.request(method, path, method === 'GET' || method === 'DELETE' ? {} : { body: b });
          expect(r.status, `${method} ${path} ${JSON.stringify(b)} → ${r.text}`).toBeLessThan(500);
        },
      ),
      { numRuns: 300 },
    );
  });
});
