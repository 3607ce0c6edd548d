// SQL Server and Oracle cannot run here: the SQL that polling and triggers send them, as knex compiles it.
import knexFactory, { type Knex } from 'knex';
import { describe, expect, test } from 'vitest';
import { mssqlHorizon } from '../../src/sql/mssql/mssql-horizon.js';
import { oracleHorizon } from '../../src/sql/oracle/oracle-horizon.js';
import { postgresHorizon } from '../../src/sql/postgres/postgres-horizon.js';
import { chunkQuery } from '../../src/sql/keyset.js';
import { incrementingQuery, rowversionQuery, timestampQuery } from '../../adapters/polling/polling-query.js';
import { pageQuery, pruneQuery } from '../../adapters/triggers/triggers-streaming.js';
import { addToRanges, inRanges, remainingSeen } from '../../adapters/triggers/triggers-seen.js';
import type { CaptureTable } from '../../src/sql/trigger-ddl.js';
import { mssqlTriggerCapture } from '../../src/sql/mssql/mssql-triggers.js';
import { mysqlTriggerCapture } from '../../src/sql/mysql/mysql-triggers.js';
import { oracleTriggerCapture } from '../../src/sql/oracle/oracle-triggers.js';
import { postgresTriggerCapture } from '../../src/sql/postgres/postgres-triggers.js';
import { sqliteTriggerCapture } from '../../src/sql/sqlite/sqlite-triggers.js';
import { parseConfig } from '../../src/config/load.js';

const k = (client: string): Knex => knexFactory({ client, useNullAsDefault: true });
const sql = (qb: Knex.QueryBuilder) => qb.toSQL().toNative();
const table = { qualified: 'app.orders', column: 'rv', key: ['id', 'line'] };

describe('polling queries', () => {
  test('SQL Server: keyset chunks spell out the row comparison (no row values there) under TOP', () => {
    const q = sql(chunkQuery(k('mssql'), table, [5, 2], 100));
    expect(q.sql).toBe(
      'select top (@p0) * from [app].[orders] where (([id] > @p1) or ([id] = @p2 and [line] > @p3)) order by [id] asc, [line] asc',
    );
    expect(q.bindings).toEqual([100, 5, 5, 2]);
  });

  test('SQL Server rowversion: bounded by MIN_ACTIVE_ROWVERSION(), resumed after a bigint cursor', () => {
    const q = sql(rowversionQuery(k('mssql'), table, 42, 10));
    expect(q.sql).toContain('[rv] < MIN_ACTIVE_ROWVERSION()');
    expect(q.sql).toContain('[rv] > CONVERT(binary(8), CONVERT(bigint, @p1))');
    expect(q.sql).toContain('CONVERT(bigint, [rv]) AS [sluice_rv]');
  });

  test('Oracle: timestamp mode orders by column then key, bounded above by the pending value', () => {
    const q = sql(
      timestampQuery(k('oracledb'), { ...table, column: 'UPD_TS' }, { value: 'a', key: [1, 2] }, 'z', 50),
    );
    expect(q.sql).toMatch(/"UPD_TS" <= :1/);
    expect(q.sql).toContain('order by "UPD_TS" asc, "id" asc, "line" asc');
    expect(q.sql).toMatch(/rownum <= :\d+/);
  });

  test('Oracle: incrementing mode reads (last, upTo] by the id column', () => {
    const q = sql(incrementingQuery(k('oracledb'), { ...table, column: 'ID' }, 10, 20, 5));
    expect(q.sql).toContain('"ID" <= :1 and "ID" > :2 order by "ID" asc');
    expect(q.bindings.slice(0, 2)).toEqual([20, 10]);
  });

  test('horizon SQL: SQL Server active transactions, Oracle v$transaction start SCN, PostgreSQL snapshot xmin', () => {
    expect(mssqlHorizon.passedSql(false)).toContain('sys.dm_tran_active_transactions');
    expect(oracleHorizon.markSql).toContain('current_scn');
    expect(oracleHorizon.passedSql(false)).toContain('v$transaction WHERE start_scn <=');
    expect(postgresHorizon.passedSql(false)).toContain('pg_snapshot_xmin(pg_current_snapshot())');
    expect(postgresHorizon.passedSql(true)).toContain('pg_stat_activity');
  });
});

describe('changelog reads and prunes', () => {
  test('changelog order per database: seq behind the horizon, SQL Server rowversion, Oracle ORA_ROWSCN', () => {
    expect(
      [
        postgresTriggerCapture,
        mssqlTriggerCapture,
        oracleTriggerCapture,
        mysqlTriggerCapture,
        sqliteTriggerCapture,
      ].map((c) => c.order),
    ).toEqual(['seq', 'rowversion', 'rowscn', 'seq', 'seq']);
  });

  test('SQL Server: rowversion below MIN_ACTIVE_ROWVERSION()', () => {
    const q = sql(pageQuery(k('mssql'), mssqlTriggerCapture, 'sluice.sluice_changelog', [7], 100));
    expect(q.sql).toContain('rv < MIN_ACTIVE_ROWVERSION()');
    expect(q.sql).toContain('from [sluice].[sluice_changelog]');
    expect(q.sql).toContain('order by [rv] asc');
    expect(sql(pruneQuery(k('mssql'), 'rowversion', 'sluice.sluice_changelog', [7])).sql).toBe(
      'delete from [sluice].[sluice_changelog] where rv <= CONVERT(binary(8), CONVERT(bigint, @p0));select @@rowcount',
    );
  });

  test('Oracle: commit order by (ORA_ROWSCN, seq) after the cursor, below the SCN read before the page', () => {
    const q = sql(
      pageQuery(k('oracledb'), oracleTriggerCapture, 'APP.sluice_changelog', [1000, 55], 100, 2000),
    );
    expect(q.sql).toContain('from "APP"."sluice_changelog"');
    expect(q.sql).toContain('ORA_ROWSCN < :1');
    expect(q.sql).toContain('(ORA_ROWSCN > :2 or (ORA_ROWSCN = :3 and "seq" > :4))');
    expect(q.sql).toContain('order by ORA_ROWSCN, "seq"');
    expect(q.bindings.slice(0, 4)).toEqual([2000, 1000, 1000, 55]);
    // A late committer with a smaller seq but a larger SCN is still ahead of the cursor, and
    // pruning removes only what is behind it in the same order.
    const p = sql(pruneQuery(k('oracledb'), 'rowscn', 'APP.sluice_changelog', [1000, 55]));
    expect(p.sql).toContain('(ORA_ROWSCN < :1 or (ORA_ROWSCN = :2 and "seq" <= :3))');
  });

  test('PostgreSQL: seq up to the pending bound, JSON read as text (no float parse of numbers)', () => {
    const q = sql(pageQuery(k('pg'), postgresTriggerCapture, 'public.sluice_changelog', [4], 10, 99));
    expect(q.sql).toContain('"seq" <= $');
    expect(q.sql).toContain('"seq" > $');
    expect(q.sql).toContain('order by "seq" asc');
    expect(q.sql).toContain('"new_row"::text AS "new_row"');
    expect(q.sql).not.toContain('txid <');
    expect(q.sql).not.toContain('sluice_seen');
  });

  test('PostgreSQL: entries the first pass saw are flagged by visibility in its snapshot', () => {
    const q = sql(
      pageQuery(k('pg'), postgresTriggerCapture, 'sluice_changelog', null, 10, 50, {
        snapshot: '10:20:12,15',
      }),
    );
    expect(q.sql).toContain('pg_visible_in_snapshot(txid, $1::pg_snapshot) AS sluice_seen');
    expect(q.bindings[0]).toBe('10:20:12,15');
  });
});

describe('the first pass’s seen set (triggers-seen.ts)', () => {
  test('seqs in ascending order become inclusive ranges; lookups by binary search', () => {
    const ranges: [number, number][] = [];
    for (const n of [3, 4, 5, 7, 9, 10, 20]) addToRanges(ranges, n);
    expect(ranges).toEqual([
      [3, 5],
      [7, 7],
      [9, 10],
      [20, 20],
    ]);
    expect([2, 3, 5, 6, 7, 8, 10, 11, 20, 21].map((n) => inRanges(ranges, n))).toEqual([
      false,
      true,
      true,
      false,
      true,
      false,
      true,
      false,
      true,
      false,
    ]);
  });

  test('what the cursor has passed is dropped', () => {
    const seen = {
      ranges: [
        [3, 5],
        [7, 7],
        [9, 10],
      ] as [number, number][],
    };
    expect(remainingSeen(seen, [6])).toEqual({
      ranges: [
        [7, 7],
        [9, 10],
      ],
    });
    expect(remainingSeen(seen, [10])).toBeUndefined();
    expect(remainingSeen(seen, null)).toBe(seen);
    // A snapshot is kept until the cursor passes the largest seq it saw.
    const snap = { snapshot: '990:1005:990,1001', through: 40 };
    expect(remainingSeen(snap, [39])).toBe(snap);
    expect(remainingSeen(snap, [40])).toBeUndefined();
  });
});

describe('trigger DDL', () => {
  const t: CaptureTable = {
    qualified: 'APP.ORDERS',
    schema: 'APP',
    name: 'ORDERS',
    columns: ['ID', 'QTY'],
    key: ['ID'],
  };
  const cl = { schema: 'SLUICE', name: 'sluice_changelog' };

  test('SQL Server: a rowversion changelog in its own schema; the trigger inserts into it by its full name', () => {
    const d = mssqlTriggerCapture;
    expect(d.createChangelog(cl)[0]).toContain('CREATE TABLE [SLUICE].[sluice_changelog] (');
    expect(d.createChangelog(cl)[0]).toContain('rv rowversion NOT NULL');
    expect(d.createChangelog(cl)[1]).toContain('ON [SLUICE].[sluice_changelog] (rv)');
    const [trg] = d.createTriggers(cl, t);
    expect(trg).toContain('ON [APP].[ORDERS] AFTER INSERT, UPDATE, DELETE');
    expect(trg).toContain('INSERT INTO [SLUICE].[sluice_changelog] (');
    expect(trg).not.toContain('[APP].[sluice_changelog]');
    expect(trg).toContain('FROM inserted i FULL OUTER JOIN deleted d ON i.[ID] = d.[ID]');
    expect(trg).toContain('CURRENT_TRANSACTION_ID()');
    expect(trg).toContain('FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES');
    expect(d.dropTriggers(t)).toEqual(['DROP TRIGGER IF EXISTS [APP].[sluice_cap_ORDERS]']);
    expect(d.dropChangelog(cl)).toEqual(['DROP TABLE IF EXISTS [SLUICE].[sluice_changelog]']);
  });

  test('Oracle: a ROWDEPENDENCIES changelog in its own schema; the row trigger inserts into it by its full name', () => {
    const d = oracleTriggerCapture;
    expect(d.createChangelog(cl)[0]).toMatch(/^CREATE TABLE "SLUICE"."sluice_changelog" \(/);
    expect(d.createChangelog(cl)[0]).toMatch(/\) ROWDEPENDENCIES$/);
    const [trg] = d.createTriggers(cl, t);
    expect(trg).toContain('AFTER INSERT OR UPDATE OR DELETE ON "APP"."ORDERS" FOR EACH ROW');
    expect(trg).toContain('INSERT INTO "SLUICE"."sluice_changelog" (');
    expect(trg).toContain('DBMS_TRANSACTION.LOCAL_TRANSACTION_ID');
    expect(trg).toContain(
      `JSON_OBJECT('ID' VALUE :OLD."ID", 'QTY' VALUE :OLD."QTY" NULL ON NULL RETURNING CLOB)`,
    );
  });

  test('PostgreSQL: qualified changelog, function with a fixed search_path, trigger calling it by its full name', () => {
    const d = postgresTriggerCapture;
    const [table, index, fn] = d.createChangelog(cl);
    expect(table).toContain('CREATE TABLE "SLUICE"."sluice_changelog" (');
    expect(table).toContain('txid xid8 NOT NULL DEFAULT pg_current_xact_id()');
    expect(index).toContain('ON "SLUICE"."sluice_changelog"');
    expect(fn).toContain('CREATE FUNCTION "SLUICE"."sluice_changelog_capture"() RETURNS trigger');
    expect(fn).toContain('SET search_path = pg_catalog, pg_temp');
    expect(fn).toContain('INSERT INTO "SLUICE"."sluice_changelog" (');
    expect(d.createTriggers(cl, t)[0]).toContain(
      'EXECUTE FUNCTION "SLUICE"."sluice_changelog_capture"(\'ID\')',
    );
  });

  test('MySQL: the trigger inserts into the changelog’s database, not the captured table’s', () => {
    const d = mysqlTriggerCapture;
    expect(d.createChangelog(cl)[0]).toContain('CREATE TABLE `SLUICE`.`sluice_changelog` (');
    const trgs = d.createTriggers(cl, { ...t, types: { ID: 'int', QTY: 'varbinary' } });
    for (const trg of trgs) expect(trg).toContain('INSERT INTO `SLUICE`.`sluice_changelog` (');
    expect(trgs[0]).toContain("REPLACE(TO_BASE64(NEW.`QTY`), CHAR(10), '')");
  });
});

describe('config', () => {
  test('tables as strings (diff on the primary key) or objects; timestamp and incrementing need a column', () => {
    const ok = parseConfig({
      sources: [
        {
          name: 'shop',
          kind: 'polling',
          url: 'sqlite:./shop.db',
          pollInterval: '1s',
          tables: ['main.customers', { table: 'main.orders', mode: 'incrementing', column: 'order_id' }],
        },
      ],
    });
    const s = ok.sources[0]!;
    expect(s.kind === 'polling' && s.pollInterval).toBe(1000);
    expect(() =>
      parseConfig({
        sources: [
          {
            name: 'x',
            kind: 'polling',
            url: 'sqlite:a.db',
            tables: [{ table: 'main.t', mode: 'timestamp' }],
          },
        ],
      }),
    ).toThrow(/column/);
  });
});
