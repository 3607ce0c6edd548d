// SQL Server and Oracle cannot run here: their introspectors run through knex's real mssql and
// oracledb clients over fake drivers answering with recorded catalog rows (test/support/fake-sql-drivers.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { openDatabase } from '../../src/sql/database.js';
import { introspect } from '../../src/sql/introspect.js';
import { buildProgram } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import * as mssql from '../../src/sql/mssql/mssql-introspector.js';
import * as oracle from '../../src/sql/oracle/oracle-introspector.js';
import { mssqlCatalog, oracleCatalog, positional } from '../fixtures/rest/recorded-catalogs.js';
import { installFakeOracledb, installFakeTedious } from '../support/fake-sql-drivers.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-init-'));
  return () => rm(dir, { recursive: true, force: true });
});

let restore: (() => void) | undefined;
afterEach(() => {
  restore?.();
  restore = undefined;
});

async function runInit(url: string, out: string): Promise<Record<string, unknown>> {
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await buildProgram().parseAsync(['node', 'sluice', 'init', '--url', url, '-o', out, '--force']);
  } finally {
    stderr.mockRestore();
  }
  return parse(await readFile(out, 'utf8')) as Record<string, unknown>;
}

describe('mssql introspector (fake tedious driver, recorded catalog rows, no server)', () => {
  it('sends its catalog queries through knex with @p bindings and reads tedious rows', async () => {
    const fake = installFakeTedious(mssqlCatalog);
    restore = fake.restore;
    const db = await openDatabase('mssql://sa:S3cret%21@127.0.0.1:1433/erp');
    try {
      const found = await introspect(db, ['ORDLINE']);
      expect(fake.sent.slice(0, 4)).toEqual([
        { sql: mssql.listTablesSql, bindings: [] },
        { sql: positional(mssql.columnsSql, '@p'), bindings: ['dbo', 'ORDLINE'] },
        { sql: positional(mssql.primaryKeySql, '@p'), bindings: ['dbo', 'ORDLINE'] },
        { sql: positional(mssql.foreignKeysSql, '@p'), bindings: ['dbo', 'ORDLINE'] },
      ]);
      expect(found.tables).toEqual([
        {
          name: 'dbo.ORDLINE',
          columns: [
            { name: 'ORD_ID', type: 'int', nullable: false, length: undefined, scale: 0, generated: false },
            {
              name: 'LINE_NO',
              type: 'smallint',
              nullable: false,
              length: undefined,
              scale: 0,
              generated: false,
            },
            { name: 'QTY', type: 'int', nullable: false, length: undefined, scale: 0, generated: false },
            {
              name: 'ITEM_DESC',
              type: 'nvarchar',
              nullable: true,
              length: 50,
              scale: undefined,
              generated: false,
            },
            {
              name: 'NOTES',
              type: 'nvarchar',
              nullable: true,
              length: undefined,
              scale: undefined,
              generated: false,
            },
            {
              name: 'LINE_AMT',
              type: 'decimal',
              nullable: true,
              length: undefined,
              scale: 2,
              generated: true,
            },
          ],
          primaryKey: ['ORD_ID', 'LINE_NO'],
          foreignKeys: [{ columns: ['ORD_ID'], refTable: 'dbo.ORDHDR', refColumns: ['ORD_ID'] }],
        },
      ]);
      // knex turned the URL's config into tedious's connection config.
      expect(fake.configs[0]).toMatchObject({
        server: '127.0.0.1',
        authentication: { type: 'default', options: { userName: 'sa', password: 'S3cret!' } },
        options: { port: 1433, database: 'erp', encrypt: false, trustServerCertificate: true },
      });
    } finally {
      await db.close();
    }
  });

  it('maps SQL Server types to the starter config names', () => {
    expect(
      ['bit', 'smallmoney', 'datetime2', 'smalldatetime', 'uniqueidentifier', 'timestamp', 'nchar'].map(
        mssql.mssqlType,
      ),
    ).toEqual(['boolean', 'money', 'datetime', 'datetime', 'uuid', 'rowversion', 'nchar']);
  });

  it('sluice init --url mssql://… writes a config that validates, with keys, relations and codecs', async () => {
    const fake = installFakeTedious(mssqlCatalog);
    restore = fake.restore;
    const out = join(dir, 'mssql.yaml');
    const cfg = await runInit('mssql://sa:pw@127.0.0.1/erp', out);
    // The password stays out of the file: the URL is an environment reference.
    expect(await readFile(out, 'utf8')).not.toContain('pw@');
    expect(() => parseConfig(cfg, { ERP_DATABASE_URL: 'mssql://sa:pw@127.0.0.1/erp' })).not.toThrow();
    const api = cfg.api as {
      resources: Record<
        string,
        { table: string; key: string[]; fields: Record<string, unknown>; relations?: unknown }
      >;
    };
    expect(Object.keys(api.resources)).toEqual(['custmast', 'ordhdr', 'ordline']);
    const cust = api.resources.custmast!;
    expect(cust.table).toBe('dbo.CUSTMAST');
    expect(cust.key).toEqual(['custNo']);
    expect(cust.fields).toEqual({
      custNo: { column: 'CUST_NO', codec: 'trim', options: { length: 8 }, nullable: false },
      custNm: { column: 'CUST_NM', codec: 'string', options: { maxLength: 40 }, nullable: false },
      actvFlg: { column: 'ACTV_FLG', codec: 'yn', nullable: false },
      balAmt: { column: 'BAL_AMT', codec: 'decimal', options: { scale: 2 } },
      openDt: { column: 'OPEN_DT', codec: 'yyyymmdd', options: { storage: 'char' } },
      createdAt: { column: 'CREATED_AT', codec: 'localTimestamp', options: { timeZone: 'UTC' } },
      rowVer: { column: 'ROW_VER', codec: 'string', nullable: false, generated: true },
    });
    expect(cust.relations).toEqual({
      ordhdr: { resource: 'ordhdr', on: { custNo: 'custNo' }, kind: 'many' },
    });
    const hdr = api.resources.ordhdr!;
    expect(hdr.fields).toMatchObject({
      ordId: { column: 'ORD_ID', codec: 'int', nullable: false, generated: true },
      ordTs: { column: 'ORD_TS', codec: 'localTimestamp' },
      totalAmt: { column: 'TOTAL_AMT', codec: 'decimal', options: { scale: 4 } },
      paid: { column: 'PAID', codec: 'boolean', nullable: false },
    });
    // Samples of the CHAR(1)/CHAR(8) columns, as knex's SQL Server client compiles them.
    expect(fake.sent).toContainEqual({
      sql: 'select distinct top (@p0) [ACTV_FLG] from [dbo].[CUSTMAST]',
      bindings: [5],
    });
    expect(api.resources.ordline!.key).toEqual(['ordId', 'lineNo']);
    expect(api.resources.ordline!.relations).toEqual({
      ordhdr: { resource: 'ordhdr', on: { ordId: 'ordId' }, kind: 'one' },
    });
  });
});

describe('catalog SQL of the SQL Server and Oracle introspectors', () => {
  it('SQL Server: user base tables only; keys and foreign keys by object id, in column order', () => {
    expect(mssql.listTablesSql).toContain("TABLE_TYPE = 'BASE TABLE'");
    expect(mssql.listTablesSql).toContain("TABLE_SCHEMA <> 'cdc'");
    expect(mssql.listTablesSql).toContain("'IsMSShipped') = 0");
    expect(mssql.columnsSql).toMatch(/sc\.is_identity, sc\.is_computed[\s\S]*ORDER BY c\.ORDINAL_POSITION$/);
    expect(mssql.primaryKeySql).toMatch(/k\.type = 'PK'[\s\S]*ORDER BY ic\.key_ordinal$/);
    expect(mssql.foreignKeysSql).toMatch(/ORDER BY fk\.name, fkc\.constraint_column_id$/);
  });

  it('Oracle: schemas Oracle does not maintain; visible columns; constraint columns by position', () => {
    expect(oracle.listTablesSql).toContain("u.ORACLE_MAINTAINED = 'N'");
    expect(oracle.listTablesSql).toContain("t.DROPPED = 'NO'");
    expect(oracle.columnsSql).toMatch(/HIDDEN_COLUMN = 'NO'\s+ORDER BY COLUMN_ID$/);
    expect(oracle.primaryKeySql).toMatch(/CONSTRAINT_TYPE = 'P'\s+ORDER BY cc\.POSITION$/);
    expect(oracle.foreignKeysSql).toContain('rc.POSITION = cc.POSITION');
    expect(oracle.foreignKeysSql).toMatch(
      /CONSTRAINT_TYPE = 'R'\s+ORDER BY c\.CONSTRAINT_NAME, cc\.POSITION$/,
    );
  });
});

describe('oracle introspector (fake oracledb driver, recorded catalog rows, no server)', () => {
  it('sends its dictionary queries through knex with :n bindings and reads OUT_FORMAT_OBJECT rows', async () => {
    const fake = installFakeOracledb(oracleCatalog);
    restore = fake.restore;
    const db = await openDatabase('oracle://app:pw@127.0.0.1:1521/FREEPDB1');
    try {
      const found = await introspect(db, ['ORDHDR']);
      expect(fake.sent.slice(0, 4)).toEqual([
        { sql: oracle.listTablesSql, bindings: [] },
        { sql: positional(oracle.columnsSql, ':'), bindings: ['APP', 'ORDHDR'] },
        { sql: positional(oracle.primaryKeySql, ':'), bindings: ['APP', 'ORDHDR'] },
        { sql: positional(oracle.foreignKeysSql, ':'), bindings: ['APP', 'ORDHDR'] },
      ]);
      expect(found.tables).toEqual([
        {
          name: 'APP.ORDHDR',
          columns: [
            {
              name: 'ORD_ID',
              type: 'bigint',
              nullable: false,
              length: undefined,
              scale: undefined,
              generated: true,
            },
            { name: 'CUST_NO', type: 'char', nullable: false, length: 8, scale: undefined, generated: false },
            {
              name: 'ORD_TS',
              type: 'timestamptz',
              nullable: false,
              length: undefined,
              scale: undefined,
              generated: false,
            },
            {
              name: 'TOTAL_AMT',
              type: 'numeric',
              nullable: true,
              length: undefined,
              scale: undefined,
              generated: false,
            },
          ],
          primaryKey: ['ORD_ID'],
          foreignKeys: [{ columns: ['CUST_NO'], refTable: 'APP.CUSTMAST', refColumns: ['CUST_NO'] }],
        },
      ]);
      // Thin mode: knex hands oracledb an Easy Connect string.
      expect(fake.configs[0]).toEqual({
        user: 'app',
        password: 'pw',
        connectString: '127.0.0.1:1521/FREEPDB1',
      });
    } finally {
      await db.close();
    }
  });

  it('reads an unqualified table in the session schema', async () => {
    const fake = installFakeOracledb(oracleCatalog);
    restore = fake.restore;
    const db = await openDatabase('oracle://app:pw@127.0.0.1/FREEPDB1');
    try {
      const t = await oracle.oracleIntrospector.describe(db.knex, 'CUSTMAST');
      expect(fake.sent[0]).toEqual({ sql: oracle.currentSchemaSql, bindings: [] });
      expect(t.name).toBe('APP.CUSTMAST');
    } finally {
      await db.close();
    }
  });

  it('maps Oracle types to the starter config names', () => {
    expect([
      oracle.oracleType('NUMBER', 11, 2),
      oracle.oracleType('NUMBER', 9, 0),
      oracle.oracleType('NUMBER', 18, 0),
      oracle.oracleType('NUMBER', null, 0), // INTEGER
      oracle.oracleType('NUMBER', null, null),
      oracle.oracleType('DATE', null, null),
      oracle.oracleType('TIMESTAMP(6)', null, 6),
      oracle.oracleType('TIMESTAMP(3) WITH LOCAL TIME ZONE', null, 3),
      oracle.oracleType('VARCHAR2', null, null),
      oracle.oracleType('NCHAR', null, null),
      oracle.oracleType('BINARY_DOUBLE', null, null),
    ]).toEqual([
      'numeric',
      'integer',
      'bigint',
      'numeric',
      'numeric',
      'timestamp',
      'timestamp',
      'timestamptz',
      'varchar',
      'nchar',
      'double precision',
    ]);
  });

  it('sluice init --url oracle://… writes a config that validates, with names as Oracle stores them', async () => {
    const fake = installFakeOracledb(oracleCatalog);
    restore = fake.restore;
    const out = join(dir, 'oracle.yaml');
    const cfg = await runInit('oracle://app:pw@127.0.0.1:1521/FREEPDB1', out);
    expect(await readFile(out, 'utf8')).not.toContain('pw@');
    expect(() =>
      parseConfig(cfg, { FREEPDB1_DATABASE_URL: 'oracle://app:pw@127.0.0.1:1521/FREEPDB1' }),
    ).not.toThrow();
    const api = cfg.api as {
      resources: Record<
        string,
        { table: string; key: string[]; fields: Record<string, unknown>; relations?: unknown }
      >;
    };
    expect(Object.keys(api.resources)).toEqual(['custmast', 'ordhdr', 'ordline']);
    const cust = api.resources.custmast!;
    expect(cust.table).toBe('APP.CUSTMAST');
    expect(cust.key).toEqual(['custNo']);
    expect(cust.fields).toEqual({
      custNo: { column: 'CUST_NO', codec: 'trim', options: { length: 8 }, nullable: false },
      custNm: { column: 'CUST_NM', codec: 'string', options: { maxLength: 40 }, nullable: false },
      actvFlg: { column: 'ACTV_FLG', codec: 'yn', nullable: false },
      balAmt: { column: 'BAL_AMT', codec: 'decimal', options: { scale: 2 } },
      openDt: { column: 'OPEN_DT', codec: 'yyyymmdd', options: { storage: 'char' } },
      createdAt: { column: 'CREATED_AT', codec: 'localTimestamp', options: { timeZone: 'UTC' } },
    });
    const line = api.resources.ordline!;
    expect(line.key).toEqual(['ordId', 'lineNo']);
    expect(line.fields).toMatchObject({
      lineNo: { column: 'LINE_NO', codec: 'int', nullable: false },
      itemDesc: { column: 'ITEM_DESC', codec: 'string', options: { maxLength: 50 } },
      notes: { column: 'NOTES', codec: 'string' },
      lineAmt: { column: 'LINE_AMT', codec: 'decimal', options: { scale: 2 }, generated: true },
    });
    expect(line.relations).toEqual({ ordhdr: { resource: 'ordhdr', on: { ordId: 'ordId' }, kind: 'one' } });
    // The sample queries ran through knex's Oracle paging (ROWNUM) and result-set fetching.
    expect(fake.sent).toContainEqual({
      sql: 'select * from (select distinct "ACTV_FLG" from "APP"."CUSTMAST") where rownum <= :1',
      bindings: [5],
    });
  });
});
