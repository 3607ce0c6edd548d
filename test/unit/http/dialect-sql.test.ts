// SQL Server and Oracle cannot run here: check the SQL knex compiles for them (and for the others).
import knexFactory from 'knex';
import { describe, expect, it } from 'vitest';
import type { ApiDatabase } from '../../../src/sql/database.js';
import type { SqlDialect } from '../../../src/sql/sql-dialect.js';
import { mssqlDialect } from '../../../src/sql/mssql/mssql-dialect.js';
import { mysqlDialect } from '../../../src/sql/mysql/mysql-dialect.js';
import { oracleDialect } from '../../../src/sql/oracle/oracle-dialect.js';
import { postgresDialect } from '../../../src/sql/postgres/postgres-dialect.js';
import { sqliteDialect } from '../../../src/sql/sqlite/sqlite-dialect.js';
import { encodeCursor } from '../../../src/resources/cursor.js';
import { parseFilterParam } from '../../../src/resources/filter-grammar.js';
import { ResourceStore } from '../../../src/resources/resource-store.js';
import { ResourceMapping } from '../../../src/core/mapping.js';
import { fixtureApi } from './harness.js';

const api = fixtureApi('sqlite::memory:');

function store(dialect: SqlDialect, resource = 'customers'): ResourceStore {
  const knex = knexFactory({ client: dialect.client, useNullAsDefault: true });
  const db: ApiDatabase = { url: 'x', knex, dialect, ping: async () => {}, close: () => knex.destroy() };
  return new ResourceStore(
    db,
    new ResourceMapping(resource, {
      ...api.resources[resource]!,
      table: `legacy.${api.resources[resource]!.table}`,
    }),
  );
}

function page(s: ResourceStore, params: Record<string, string>, cursor?: unknown[]) {
  const m = s.mapping;
  const order = [{ field: m.field('balance')!, desc: true }];
  const { text } = s.ordering(order);
  const { qb } = s.listQuery({
    filters: Object.entries(params).map(([k, v]) => parseFilterParam(k, v)),
    lookup: (n) => m.field(n),
    order,
    limit: 10,
    cursor: cursor ? encodeCursor(text, cursor) : undefined,
    fields: [m.field('id')!, m.field('name')!],
  });
  return qb.toSQL().toNative();
}

const keysOf = (n: number) => Array.from({ length: n }, (_, i) => [`C${String(i).padStart(7, '0')}`]);

describe('compiled SQL per dialect', () => {
  const filters = {
    active: 'eq.true',
    status: 'in.(active,hold)',
    or: '(createdOn.gte.2024-01-01,name.ilike.AC*)',
  };

  it('SQL Server: bound parameters, codec-encoded values, CASE for NULL ordering, TOP for the limit', () => {
    const { sql, bindings } = page(store(mssqlDialect), filters, ['12.50', 'C0001   ']);
    expect(sql).toBe(
      'select top (@p0) [cust_no], [cust_nm], [bal_amt] from [legacy].[custmast] where [actv_flg] = @p1 and [stat_cd] in (@p2, @p3) and (([crt_dt] >= @p4 and [crt_dt] not in (@p5)) or (LOWER([cust_nm]) LIKE LOWER(@p6))) and (([bal_amt] < @p7) or ([bal_amt] = @p8 and [cust_no] > @p9)) order by CASE WHEN [bal_amt] IS NULL THEN 1 ELSE 0 END desc, [bal_amt] desc, [cust_no] asc',
    );
    // A range over yyyymmdd leaves out the stored 0 that reads as null (issue 18, item 10).
    expect(bindings).toEqual([11, 'Y', 'A', 'H', 20240101, 0, 'AC%', '12.50', '12.50', 'C0001   ']);
  });

  it('Oracle: bound parameters, native NULLS ordering, FETCH/ROWNUM limit', () => {
    const { sql, bindings } = page(store(oracleDialect), filters, [null, 'C0001   ']);
    expect(sql).toBe(
      'select * from (select "cust_no", "cust_nm", "bal_amt" from "legacy"."custmast" where "actv_flg" = :1 and "stat_cd" in (:2, :3) and (("crt_dt" >= :4 and "crt_dt" not in (:5)) or (LOWER("cust_nm") LIKE LOWER(:6))) and (("bal_amt" is not null) or ("bal_amt" is null and "cust_no" > :7)) order by "bal_amt" desc, "cust_no" asc) where rownum <= :8',
    );
    expect(sql).not.toContain('CASE WHEN');
    expect(bindings).toEqual(['Y', 'A', 'H', 20240101, 0, 'AC%', 'C0001   ', 11]);
  });

  it('PostgreSQL uses ILIKE and native NULL ordering; MySQL and SQLite the CASE term', () => {
    expect(page(store(postgresDialect), { name: 'ilike.a*' }).sql).toContain('"cust_nm" ILIKE $1');
    for (const d of [mysqlDialect, sqliteDialect])
      expect(page(store(d), {}).sql).toContain(
        'CASE WHEN `bal_amt` IS NULL THEN 1 ELSE 0 END desc, `bal_amt` desc',
      );
  });

  it('never interpolates values: injection text stays a binding', () => {
    for (const d of [mssqlDialect, oracleDialect, postgresDialect, mysqlDialect, sqliteDialect]) {
      const { sql, bindings } = page(store(d), { name: "eq.x'; DROP TABLE custmast; --" });
      expect(sql).not.toContain('DROP');
      expect(bindings).toContain("x'; DROP TABLE custmast; --");
    }
  });

  it('embeds: key lists are chunked by the dialect (<= 1000 per IN list, < 2100 parameters), children bounded per parent', () => {
    for (const d of [mssqlDialect, oracleDialect, postgresDialect, mysqlDialect, sqliteDialect]) {
      const st = store(d, 'orders');
      const m = st.mapping;
      const keys = keysOf(2500);
      const qs = st.relatedQueries(
        ['cust_no'],
        keys,
        [parseFilterParam('shipped', 'eq.true')],
        (n) => m.field(n),
        ['cust_no', 'ord_no'],
        100,
      );
      expect(qs).toHaveLength(Math.ceil(2500 / d.inListChunk));
      const seen: unknown[] = [];
      for (const q of qs) {
        const { sql, bindings } = q.toSQL().toNative();
        const inList = /in \(([^)]*)\)/i.exec(sql)![1]!.split(',');
        expect(inList.length).toBeLessThanOrEqual(1000);
        expect(bindings.length).toBeLessThan(2100);
        expect(sql).toMatch(
          /ROW_NUMBER\(\) OVER \(PARTITION BY .cust_no. ORDER BY .cust_no. ASC, .ord_no. ASC\)/,
        );
        // The bound per parent (one more than the limit: it tells that more exist) is a binding.
        expect(bindings).toContain(101);
        seen.push(...bindings.filter((b) => typeof b === 'string' && b.startsWith('C')));
      }
      expect(seen).toEqual(keys.map((k) => k[0]));
    }
    // The chunk is the dialect's member, not a test on its name.
    const small = store({ ...postgresDialect, inListChunk: 10 }, 'orders');
    expect(
      small.relatedQueries(['cust_no'], keysOf(95), [], (n) => small.mapping.field(n), ['ord_no'], 1),
    ).toHaveLength(10);
    // Composite keys: a chunk carries at most inListChunk bound key values in all.
    const st = store(mssqlDialect, 'orders');
    const pairs = Array.from({ length: 1200 }, (_, i) => ['C0000001', i]);
    const qs = st.relatedQueries(
      ['cust_no', 'ord_no'],
      pairs,
      [],
      (n) => st.mapping.field(n),
      ['tot_cents'],
      5,
    );
    expect(qs).toHaveLength(3);
    for (const q of qs) expect(q.toSQL().toNative().bindings.length).toBeLessThanOrEqual(1001);
  });

  it('classifies each driver error family', () => {
    expect(mssqlDialect.classifyError({ number: 2627 })).toBe('unique');
    expect(mssqlDialect.classifyError({ number: 515 })).toBe('notNull');
    expect(oracleDialect.classifyError({ errorNum: 1 })).toBe('unique');
    expect(oracleDialect.classifyError({ errorNum: 12899 })).toBe('invalidValue');
    expect(postgresDialect.classifyError({ code: '23503' })).toBe('foreignKey');
    expect(postgresDialect.classifyError({ code: '22P02' })).toBe('invalidValue');
    expect(postgresDialect.classifyError({ code: 'ECONNREFUSED' })).toBeNull();
    expect(mysqlDialect.classifyError({ errno: 1062 })).toBe('unique');
    expect(sqliteDialect.classifyError({ code: 'SQLITE_CONSTRAINT_NOTNULL' })).toBe('notNull');
    expect(sqliteDialect.classifyError(new Error('x'))).toBeNull();
  });

  it('builds knex configs from URLs without loading drivers', async () => {
    expect(await mssqlDialect.knexConfig('mssql://sa:p%40ss@db:1444/erp')).toMatchObject({
      client: 'mssql',
      connection: { server: 'db', port: 1444, user: 'sa', password: 'p@ss', database: 'erp' },
    });
    expect(await oracleDialect.knexConfig('oracle://app:pw@ora:1521/FREEPDB1')).toMatchObject({
      client: 'oracledb',
      connection: { connectString: 'ora:1521/FREEPDB1' },
    });
    expect(await mysqlDialect.knexConfig('mysql://root@127.0.0.1:3307/shop')).toMatchObject({
      connection: { port: 3307, database: 'shop', dateStrings: true },
    });
    expect(await sqliteDialect.knexConfig('sqlite:///var/x.db')).toMatchObject({
      connection: { filename: '/var/x.db' },
    });
  });
});
