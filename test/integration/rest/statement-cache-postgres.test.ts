// Cached reads on PostgreSQL run straight on a pooled pg connection: the same rows as the knex
// builder, no knex query per request, driver errors passed through, and every connection given
// back to the pool (more failing statements than the pool holds, then a good one still answers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ResourceStore } from '../../../src/resources/resource-store.js';
import { StatementCache } from '../../../src/resources/statement-cache.js';
import { createApiRuntime } from '../../../src/http/server.js';
import { openDatabase, type ApiDatabase } from '../../../src/sql/database.js';
import { createLegacySchema } from '../../fixtures/rest/legacy-db.js';
import { TestPostgres } from '../../support/postgres-server.js';
import { fixtureApi, listRequest } from '../../unit/http/harness.js';

let pg: TestPostgres;
let db: ApiDatabase;
let store: ResourceStore;
let rt: Awaited<ReturnType<typeof createApiRuntime>>;

beforeAll(async () => {
  pg = await TestPostgres.start();
  const seed = await openDatabase(pg.url());
  await createLegacySchema(seed.knex, 'postgres');
  await seed.close();
  rt = await createApiRuntime(fixtureApi(pg.url()), []);
  db = rt.databases[0]!;
  // A store of its own, so that statements made elsewhere do not count here.
  store = new ResourceStore(db, rt.resources.get('customers')!.mapping);
}, 60_000);
afterAll(async () => {
  await rt?.close();
  await pg?.stop();
});

const request = (params: Record<string, string>) => listRequest(store.mapping, params);

describe('statement cache on PostgreSQL', () => {
  it('runs cached lists and gets on a pooled connection, without knex queries, with the builder rows', async () => {
    expect(db.dialect.queryOnConnection).not.toBeNull();
    const req = request({ active: 'eq.true', creditLimit: 'gt.20.00' });
    await store.list(req); // compiles (knex builds it twice, without running it)
    const lookup = (n: string) => store.mapping.field(n);
    await store.get(db.knex, { cust_no: 'C0001   ' }, [], lookup);
    let knexQueries = 0;
    const count = () => knexQueries++;
    db.knex.on('query', count);
    try {
      const page = await store.list(req);
      const one = await store.get(db.knex, { cust_no: 'C0007   ' }, [], lookup);
      expect(knexQueries).toBe(0);
      expect(one).toMatchObject({ cust_no: 'C0007   ', cust_nm: 'CUSTOMER 7'.padEnd(30, ' ') });
      const built = (await store.listQuery(req).qb) as Record<string, unknown>[];
      expect(knexQueries).toBe(1);
      expect(page.rows).toEqual(built.slice(0, 5));
      expect(page.rows.every((r) => r.actv_flg === 'Y' && (r.cr_lmt_cents as number) > 2000)).toBe(true);
    } finally {
      db.knex.off('query', count);
    }
  });

  it('passes driver errors through and gives every connection back to the pool', async () => {
    const cache = new StatementCache(db.knex, db.dialect);
    const build = (value: (slot: number) => unknown) =>
      db
        .knex('custmast')
        .select('cust_no')
        .where('cr_lmt_cents', value(0) as number);
    expect(await cache.rows('by limit', [7000], build)).toEqual([{ cust_no: 'C0007   ' }]);
    // More failures than the pool's 10 connections: a connection kept by a failure would stall the last read.
    for (let i = 0; i < 25; i++)
      await expect(cache.rows('by limit', [`not a number ${i}`], build)).rejects.toMatchObject({
        code: '22P02', // invalid_text_representation
      });
    expect(cache.compiled).toBe(2); // numbers and strings are shapes of their own, both cached
    expect(await cache.rows('by limit', [3000], build)).toEqual([{ cust_no: 'C0003   ' }]);
  });
});
