// A sink into SQL Server and Oracle, on compiled SQL (fake: no SQL Server or Oracle server ran
// here): the statements and bindings SinkApplier sends for a batch of events, through knex's
// mssql/oracledb clients and our dialects' MERGE, with the driver call replaced by a recorder.
import knexFactory, { type Knex } from 'knex';
import { describe, expect, test } from 'vitest';
import { sinkSchema } from '../../src/config/sinks.js';
import { SinkApplier, type SinkEvent } from '../../src/sink/sink-apply.js';
import { SinkMapping } from '../../src/sink/sink-mapping.js';
import { mssqlDialect } from '../../src/sql/mssql/mssql-dialect.js';
import { oracleDialect } from '../../src/sql/oracle/oracle-dialect.js';
import type { SqlDialect } from '../../src/sql/sql-dialect.js';

interface Sent {
  readonly sql: string;
  readonly bindings: readonly unknown[];
}

/** A knex of `client` whose queries are recorded instead of sent; columnInfo answers `columns`. */
function recordingKnex(
  client: string,
  columns: Record<string, { type: string }>,
): { knex: Knex; sent: Sent[] } {
  const knex = knexFactory({ client });
  const sent: Sent[] = [];
  const c = knex.client as unknown as Record<string, unknown>;
  c.acquireConnection = () => Promise.resolve({});
  c.releaseConnection = () => Promise.resolve();
  c._query = (
    _conn: unknown,
    q: { sql: string; bindings: unknown[]; method: string; response?: unknown },
  ) => {
    if (q.method !== 'columnInfo') sent.push({ sql: q.sql, bindings: q.bindings ?? [] });
    q.response = [];
    return Promise.resolve(q);
  };
  c.processResponse = (q: { method: string }) =>
    q.method === 'columnInfo' ? columns : q.method === 'del' ? 1 : [];
  return { knex, sent };
}

const cfg = sinkSchema.parse({
  name: 'mig',
  url: 'mssql://sa@127.0.0.1/newdb',
  from: 'erp',
  tables: { 'dbo.custmast': { table: 'app.customers', columns: { cust_no: 'id', cust_nm: 'name' } } },
});

const base = { schema: 'dbo', table: 'custmast', position: null, tsMs: 0 } as const;
const events: SinkEvent[] = [
  {
    ...base,
    seq: 1,
    op: 'c',
    before: null,
    after: { cust_no: 1, cust_nm: 'Ann', bal: '1.50' },
    key: { cust_no: 1 },
  },
  {
    ...base,
    seq: 2,
    op: 'c',
    before: null,
    after: { cust_no: 2, cust_nm: 'Bob', bal: '0' },
    key: { cust_no: 2 },
  },
  // The key changes (2 → 3): delete the old key, then upsert the new row.
  {
    ...base,
    seq: 3,
    op: 'u',
    before: { cust_no: 2, cust_nm: 'Bob', bal: '0' },
    after: { cust_no: 3, cust_nm: 'Bob', bal: '0' },
    key: { cust_no: 3 },
  },
  { ...base, seq: 4, op: 'd', before: { cust_no: 1 }, after: null, key: { cust_no: 1 } },
  { ...base, seq: 5, op: 't', before: null, after: null, key: null },
];

async function applied(dialect: SqlDialect, client: string): Promise<Sent[]> {
  const { knex, sent } = recordingKnex(client, {
    id: { type: 'int' },
    name: { type: 'nvarchar' },
    bal: { type: 'decimal' },
  });
  await new SinkApplier(dialect, new SinkMapping(cfg)).apply(knex as Knex.Transaction, events);
  return sent;
}

describe('sink apply on compiled SQL (fake: no SQL Server or Oracle ran)', () => {
  test('SQL Server: MERGE of the renamed rows, key change as delete then MERGE, delete, truncate as DELETE', async () => {
    expect(await applied(mssqlDialect, 'mssql')).toEqual([
      {
        sql:
          'MERGE INTO [app].[customers] WITH (HOLDLOCK) AS t USING (VALUES (@p0, @p1, @p2), (@p3, @p4, @p5)) AS s ([id], [name], [bal])' +
          ' ON (t.[id] = s.[id]) WHEN MATCHED THEN UPDATE SET t.[name] = s.[name], t.[bal] = s.[bal]' +
          ' WHEN NOT MATCHED THEN INSERT ([id], [name], [bal]) VALUES (s.[id], s.[name], s.[bal]);',
        bindings: [1, 'Ann', '1.50', 2, 'Bob', '0'],
      },
      { sql: 'delete from [app].[customers] where [id] in (@p0);select @@rowcount', bindings: [2] },
      {
        sql:
          'MERGE INTO [app].[customers] WITH (HOLDLOCK) AS t USING (VALUES (@p0, @p1, @p2)) AS s ([id], [name], [bal])' +
          ' ON (t.[id] = s.[id]) WHEN MATCHED THEN UPDATE SET t.[name] = s.[name], t.[bal] = s.[bal]' +
          ' WHEN NOT MATCHED THEN INSERT ([id], [name], [bal]) VALUES (s.[id], s.[name], s.[bal]);',
        bindings: [3, 'Bob', '0'],
      },
      { sql: 'delete from [app].[customers] where [id] in (@p0);select @@rowcount', bindings: [1] },
      { sql: 'delete from [app].[customers];select @@rowcount', bindings: [] },
    ]);
  });

  test('Oracle: MERGE over SELECT … FROM dual, the same order of statements, positional binds', async () => {
    const merge = (rows: number) =>
      'MERGE INTO "app"."customers" t USING (SELECT :1 AS "id", :2 AS "name", :3 AS "bal" FROM dual' +
      (rows === 2 ? ' UNION ALL SELECT :4, :5, :6 FROM dual' : '') +
      ') s ON (t."id" = s."id") WHEN MATCHED THEN UPDATE SET t."name" = s."name", t."bal" = s."bal"' +
      ' WHEN NOT MATCHED THEN INSERT ("id", "name", "bal") VALUES (s."id", s."name", s."bal")';
    expect(await applied(oracleDialect, 'oracledb')).toEqual([
      { sql: merge(2), bindings: [1, 'Ann', '1.50', 2, 'Bob', '0'] },
      { sql: 'delete from "app"."customers" where "id" in (:1)', bindings: [2] },
      { sql: merge(1), bindings: [3, 'Bob', '0'] },
      { sql: 'delete from "app"."customers" where "id" in (:1)', bindings: [1] },
      { sql: 'delete from "app"."customers"', bindings: [] },
    ]);
  });
});
