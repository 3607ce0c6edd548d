// Compiled SELECTs per shape: requests that differ only in values reuse one statement and get the
// rows the knex builder gets; different shapes never share one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiDatabase } from '../../../src/sql/database.js';
import { parseFilterParam } from '../../../src/resources/filter-grammar.js';
import { ResourceStore, type ListRequest } from '../../../src/resources/resource-store.js';
import { StatementCache } from '../../../src/resources/statement-cache.js';
import { listRequest, startHarness, type Harness } from './harness.js';

let h: Harness;
let store: ResourceStore;
let db: ApiDatabase;

beforeAll(async () => {
  h = await startHarness();
  db = h.rt.databases[0]!;
  // A store of its own, so that statements made by other requests do not count here.
  store = new ResourceStore(db, h.rt.resources.get('customers')!.mapping);
});
afterAll(() => h.close());

function request(params: Record<string, string>, more: Partial<ListRequest> = {}): ListRequest {
  return listRequest(store.mapping, params, more);
}

/** The same page through the knex builder alone. */
async function uncached(req: ListRequest) {
  return (await store.listQuery(req).qb) as Record<string, unknown>[];
}

describe('statement cache', () => {
  it('reuses one statement for one shape, binding each request its own values', async () => {
    const before = store.statements.compiled;
    const a = await store.list(request({ name: 'like.CUSTOMER 1*', creditLimit: 'gt.20.00' }));
    const b = await store.list(request({ name: 'like.CUSTOMER 2*', creditLimit: 'gt.250.00' }));
    expect(store.statements.compiled).toBe(before + 1);
    const ra = await uncached(request({ name: 'like.CUSTOMER 1*', creditLimit: 'gt.20.00' }));
    const rb = await uncached(request({ name: 'like.CUSTOMER 2*', creditLimit: 'gt.250.00' }));
    expect(a.rows).toEqual(ra.slice(0, 5));
    expect(b.rows).toEqual(rb.slice(0, 5));
    expect(a.rows.map((r) => r.cust_nm)).not.toEqual(b.rows.map((r) => r.cust_nm));
    expect(b.rows.every((r) => (r.cr_lmt_cents as number) > 25_000)).toBe(true);
  });

  it('gives different shapes different statements, each with the right rows', async () => {
    const shapes = [
      request({ active: 'eq.true' }),
      request({ active: 'neq.true' }),
      request({ status: 'eq.active' }),
      request({ status: 'in.(active,hold)' }),
      request({ status: 'in.(active)' }),
      request({ updatedAt: 'is.null' }),
      request({ updatedAt: 'not.is.null' }),
      request({ or: '(status.eq.hold,creditLimit.lt.30.00)' }),
      request({ active: 'eq.true' }, { limit: 7 }),
      request({ active: 'eq.true' }, { order: [{ field: store.mapping.field('updatedAt')!, desc: true }] }),
      request({ active: 'eq.true' }, { fields: [store.mapping.field('name')!] }),
    ];
    const before = store.statements.compiled;
    for (const req of shapes) {
      const page = await store.list(req);
      expect(page.rows).toEqual((await uncached(req)).slice(0, req.limit));
    }
    expect(store.statements.compiled).toBe(before + shapes.length);
  });

  it('pages through cursors with NULLs in them (a shape of their own) like the builder', async () => {
    const order = [{ field: store.mapping.field('updatedAt')!, desc: false }];
    let cursor: string | undefined;
    const seen: unknown[] = [];
    for (let i = 0; i < 40; i++) {
      const req = request({ active: 'eq.true' }, { order, limit: 7, cursor });
      const page = await store.list(req);
      expect(page.rows).toEqual((await uncached(req)).slice(0, 7));
      seen.push(...page.rows.map((r) => r.cust_no));
      if (page.next === null) break;
      cursor = page.next;
    }
    const all = await uncached(request({ active: 'eq.true' }, { order, limit: 1000 }));
    expect(seen).toEqual(all.map((r) => r.cust_no));
  });

  it('gets by key through cached statements, apart from lists', async () => {
    const lookup = (n: string) => store.mapping.field(n);
    const one = await store.get(db.knex, { cust_no: 'C0001   ' }, [], lookup);
    const two = await store.get(db.knex, { cust_no: 'C0002   ' }, [], lookup);
    expect([one?.cust_no, two?.cust_no]).toEqual(['C0001   ', 'C0002   ']);
    const compiled = store.statements.compiled;
    const rowFilter = [parseFilterParam('status', 'eq.hold')];
    expect(await store.get(db.knex, { cust_no: 'C0002   ' }, rowFilter, lookup)).toMatchObject({
      stat_cd: 'H',
    });
    expect(await store.get(db.knex, { cust_no: 'C0001   ' }, rowFilter, lookup)).toBeUndefined();
    expect(await store.get(db.knex, { cust_no: 'nope' }, [], lookup)).toBeUndefined();
    expect(store.statements.compiled).toBe(compiled + 1); // with a row filter: a shape of its own
  });

  it('keeps shapes whose SQL depends on a value out of the cache, and still answers them', async () => {
    const cache = new StatementCache(db.knex, db.dialect);
    const build = (value: (slot: number) => unknown) =>
      db
        .knex('custmast')
        .select('cust_no')
        .where('upd_ts', value(0) as string | null)
        .orderBy('cust_no')
        .limit(2);
    // where(column, null) compiles to IS NULL: the probe (never null) compiles otherwise.
    const rows = await cache.rows('nullable', [null], build);
    expect(rows).toEqual(await build(() => null));
    expect(rows.length).toBe(2);
    const again = await cache.rows('nullable', ['2024-07-02 10:00:00'], build);
    expect(again).toEqual(await build(() => '2024-07-02 10:00:00'));
    expect(again[0]).toEqual({ cust_no: 'C0001   ' });
    expect([cache.size, cache.compiled]).toEqual([2, 1]); // the null-typed shape is remembered as not cacheable
  });

  it('builds every query with knex where the dialect cannot read raw results', async () => {
    const cache = new StatementCache(db.knex, { ...db.dialect, rawRows: null });
    const rows = await cache.rows('x', ['C0003   '], (value) =>
      db
        .knex('custmast')
        .select('cust_no')
        .where('cust_no', value(0) as string),
    );
    expect(rows).toEqual([{ cust_no: 'C0003   ' }]);
    expect(cache.size).toBe(0);
  });
});
