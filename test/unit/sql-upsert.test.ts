// SQL Server and Oracle cannot run here: the MERGE statements their dialects compile for an upsert.
import knexFactory from 'knex';
import { describe, expect, test } from 'vitest';
import { mssqlDialect } from '../../src/sql/mssql/mssql-dialect.js';
import { oracleDialect } from '../../src/sql/oracle/oracle-dialect.js';
import { postgresDialect } from '../../src/sql/postgres/postgres-dialect.js';
import { sqliteDialect } from '../../src/sql/sqlite/sqlite-dialect.js';
import { mysqlDialect } from '../../src/sql/mysql/mysql-dialect.js';

const rows = [
  { id: 1, line: 2, qty: 5, note: 'a?b' },
  { id: 1, line: 3, qty: 7, note: null },
];

describe('upsert as compiled per dialect (SQL Server and Oracle faked: compiled SQL only)', () => {
  test('SQL Server: one MERGE WITH (HOLDLOCK), VALUES rows, update of non-key columns, bound values', () => {
    const knex = knexFactory({ client: 'mssql' });
    const q = mssqlDialect.upsert(knex, 'dbo.ordln', rows, ['id', 'line']).toSQL().toNative();
    expect(q.sql).toBe(
      'MERGE INTO [dbo].[ordln] WITH (HOLDLOCK) AS t USING (VALUES (@p0, @p1, @p2, @p3), (@p4, @p5, @p6, @p7)) AS s ([id], [line], [qty], [note])' +
        ' ON (t.[id] = s.[id] AND t.[line] = s.[line]) WHEN MATCHED THEN UPDATE SET t.[qty] = s.[qty], t.[note] = s.[note]' +
        ' WHEN NOT MATCHED THEN INSERT ([id], [line], [qty], [note]) VALUES (s.[id], s.[line], s.[qty], s.[note]);',
    );
    expect(q.bindings).toEqual([1, 2, 5, 'a?b', 1, 3, 7, null]);
  });

  test('Oracle: one MERGE over SELECT … FROM dual UNION ALL, bound values', () => {
    const knex = knexFactory({ client: 'oracledb' });
    const q = oracleDialect.upsert(knex, 'APP.ORDLN', rows, ['id', 'line']).toSQL().toNative();
    expect(q.sql).toBe(
      'MERGE INTO "APP"."ORDLN" t USING (SELECT :1 AS "id", :2 AS "line", :3 AS "qty", :4 AS "note" FROM dual UNION ALL SELECT :5, :6, :7, :8 FROM dual) s' +
        ' ON (t."id" = s."id" AND t."line" = s."line") WHEN MATCHED THEN UPDATE SET t."qty" = s."qty", t."note" = s."note"' +
        ' WHEN NOT MATCHED THEN INSERT ("id", "line", "qty", "note") VALUES (s."id", s."line", s."qty", s."note")',
    );
    expect(q.bindings).toEqual([1, 2, 5, 'a?b', 1, 3, 7, null]);
  });

  test('a row of key columns only inserts or leaves the row as it is (no empty UPDATE SET)', () => {
    const only = [{ id: 1 }];
    expect(
      mssqlDialect.upsert(knexFactory({ client: 'mssql' }), 't', only, ['id']).toSQL().sql,
    ).not.toContain('WHEN MATCHED');
    expect(
      oracleDialect.upsert(knexFactory({ client: 'oracledb' }), 'T', only, ['id']).toSQL().sql,
    ).not.toContain('WHEN MATCHED');
    const pg = postgresDialect.upsert(knexFactory({ client: 'pg' }), 't', only, ['id']).toSQL().sql;
    expect(pg).toBe('insert into "t" ("id") values (?) on conflict ("id") do nothing');
  });

  test('PostgreSQL, SQLite: ON CONFLICT (key) DO UPDATE; MySQL: ON DUPLICATE KEY UPDATE', () => {
    const pg = postgresDialect
      .upsert(knexFactory({ client: 'pg' }), 'public.ordln', rows, ['id', 'line'])
      .toSQL().sql;
    expect(pg).toContain(
      'on conflict ("id", "line") do update set "qty" = excluded."qty", "note" = excluded."note"',
    );
    const lite = sqliteDialect
      .upsert(knexFactory({ client: 'better-sqlite3', useNullAsDefault: true }), 'ordln', rows, [
        'id',
        'line',
      ])
      .toSQL().sql;
    expect(lite).toContain(
      'on conflict (`id`, `line`) do update set `qty` = excluded.`qty`, `note` = excluded.`note`',
    );
    const my = mysqlDialect
      .upsert(knexFactory({ client: 'mysql2' }), 'app.ordln', rows, ['id', 'line'])
      .toSQL().sql;
    expect(my).toContain('on duplicate key update `qty` = values(`qty`), `note` = values(`note`)');
  });

  test('no rows is a programming error, said at once', () => {
    expect(() => postgresDialect.upsert(knexFactory({ client: 'pg' }), 't', [], ['id'])).toThrow(RangeError);
  });
});

describe('identifier quoting per dialect', () => {
  test('each database quotes as it does, doubling its closing quote', () => {
    expect(postgresDialect.quoteIdentifier('a"b')).toBe('"a""b"');
    expect(sqliteDialect.quoteIdentifier('x')).toBe('"x"');
    expect(oracleDialect.quoteIdentifier('CUST_NO')).toBe('"CUST_NO"');
    expect(mysqlDialect.quoteIdentifier('a`b')).toBe('`a``b`');
    expect(mssqlDialect.quoteIdentifier('a]b')).toBe('[a]]b]');
  });
});
