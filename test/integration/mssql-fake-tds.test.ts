// The mssql adapter through the real `mssql` package and its tedious driver, against a FAKE TDS
// server (test/support/fake-tds-server.ts; SQL Server cannot run here): login, SQL batches with
// several result sets, every column type the adapter reads, ERROR tokens. The fake answers the
// adapter's statements from the recorded rows the unit tests use, so the events must come out the
// same after tedious has decoded them from the wire.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createMssqlAdapter } from '../../adapters/mssql/index.js';
import { MssqlLoginError } from '../../adapters/mssql/mssql-errors.js';
import { MssqlPoolExecutor } from '../../adapters/mssql/mssql-session.js';
import { eventValue, kindOf } from '../../adapters/mssql/mssql-types.js';
import type { SourceChange } from '../../src/core/change-event.js';
import { buildProgram } from '../../src/cli/main.js';
import { parseConfig } from '../../src/config/load.js';
import { OffsetLostError } from '../../src/core/errors.js';
import { mssqlCatalog } from '../fixtures/rest/recorded-catalogs.js';
import {
  startFakeTdsServer,
  TdsServerError,
  type FakeTdsServer,
  type TdsColumn,
  type TdsResult,
  type TdsType,
} from '../support/fake-tds-server.js';
import { quietLog } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { collect, mssqlConfig, recordedExecutor, respond, scenario } from '../support/mssql-recorded.js';

const servers: FakeTdsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function fake(...args: Parameters<typeof startFakeTdsServer>): Promise<FakeTdsServer> {
  const s = await startFakeTdsServer(...args);
  servers.push(s);
  return s;
}

const url = (port: number) => `mssql://sa:pw@127.0.0.1:${port}/erp`;

/** An event without what depends on the clock (the envelope's ts_ms, a snapshot read's ts_ms). */
function stable(c: SourceChange) {
  const { ts_ms: _t, ...event } = c.event;
  const source = { ...event.source } as Record<string, unknown>;
  if (event.op === 'r') delete source.ts_ms;
  return { ...event, source, key: c.key, position: c.position, index: c.index };
}

describe('mssql adapter against a fake TDS server (real mssql/tedious driver)', () => {
  it('fake TDS server: the real driver decodes every column type the adapter reads', async () => {
    const columns: TdsColumn[] = [
      { name: 'lsn', type: 'binary', precision: 10 },
      { name: 'big', type: 'bigint' },
      { name: 'dec', type: 'decimal', precision: 38, scale: 4 },
      { name: 'cash', type: 'money' },
      { name: 'born', type: 'date' },
      { name: 'at', type: 'datetime2', scale: 7 },
      { name: 'seen', type: 'datetimeoffset', scale: 7 },
      { name: 'name', type: 'nvarchar' },
      { name: 'blob', type: 'varbinary' },
      { name: 'id', type: 'uniqueidentifier' },
      { name: 'rv', type: 'binary', precision: 8 },
      { name: 'flag', type: 'bit' },
      { name: 'memo', type: 'ntext' },
      { name: 'pic', type: 'image' },
      { name: 'legacy', type: 'datetime' },
    ];
    const row = [
      Buffer.from('0000002500000d9800a2', 'hex'),
      '9007199254740993',
      '12345678901234567890.1234',
      '922337203685477.5807',
      '1969-07-20',
      '2024-02-29T13:14:15.1234567',
      '2024-02-29T01:14:15.1234567+02:00',
      'Grüße ☃',
      Buffer.from([0, 1, 254, 255]),
      '6F9619FF-8B86-D011-B42D-00C04FC964FF',
      Buffer.from('00000000000007d1', 'hex'),
      true,
      'ntext ☃',
      Buffer.from([9, 8, 7]),
      '2024-02-29T13:14:15.997',
    ];
    const srv = await fake(() => [{ columns, rows: [row, columns.map(() => null)] }]);
    const db = new MssqlPoolExecutor(mssqlConfig({ url: url(srv.port) }), quietLog);
    try {
      const [[r, nulls] = []] = await db.batch('SELECT everything');
      expect(r).toMatchObject({
        lsn: Buffer.from('0000002500000d9800a2', 'hex'),
        big: '9007199254740993', // tedious: bigint as a string
        born: new Date('1969-07-20T00:00:00.000Z'),
        name: 'Grüße ☃',
        blob: Buffer.from([0, 1, 254, 255]),
        id: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
        flag: true,
        memo: 'ntext ☃',
        pic: Buffer.from([9, 8, 7]),
        legacy: new Date('2024-02-29T13:14:15.997Z'),
      });
      // What the driver loses, and why the adapter's SELECTs CONVERT these types to text:
      expect(typeof r!.dec).toBe('number');
      expect(r!.cash).toBe(922337203685477.6);
      expect((r!.at as Date).toISOString()).toBe('2024-02-29T13:14:15.123Z');
      expect((r!.seen as Date).toISOString()).toBe('2024-02-28T23:14:15.123Z');
      expect(Object.values(nulls!).every((v) => v === null)).toBe(true);
      // Unconverted values still map to the event forms (with the driver's precision).
      expect(eventValue(kindOf('bigint'), r!.big)).toBe('9007199254740993');
      expect(eventValue(kindOf('date'), r!.born)).toBe('1969-07-20');
      expect(eventValue(kindOf('datetimeoffset'), r!.seen)).toBe('2024-02-28T23:14:15.123Z');
      expect(eventValue(kindOf('timestamp'), r!.rv)).toBe('AAAAAAAAB9E=');
    } finally {
      await db.close();
    }
    expect(srv.logins).toBeGreaterThanOrEqual(1);
    expect(srv.batches).toEqual(['SELECT everything']);
  });

  it('fake TDS server: snapshot and CDC stream through the real driver give the events the recorded rows give', async () => {
    const viaWire = scenario();
    const srv = await fake((sql) => respond(viaWire, sql));
    const adapter = createMssqlAdapter(mssqlConfig({ url: url(srv.port) }), quietLog);
    const report = await adapter.preflight();
    await adapter.close();
    expect(report).toMatchObject({
      ok: true,
      facts: { database: 'erp', cdcEnabled: true, agentRunning: true },
    });

    const wire = await collect(new MssqlPoolExecutor(mssqlConfig({ url: url(srv.port) }), quietLog), {
      snapshot: true,
      count: 12,
    });
    const direct = await collect(recordedExecutor(scenario()), { snapshot: true, count: 12 });
    expect(wire.changes).toHaveLength(12);
    expect(wire.changes.map(stable)).toEqual(direct.changes.map(stable));
    expect(wire.batches.map((b) => b.offset)).toEqual(direct.batches.map((b) => b.offset));
    // It was the real driver on the wire: the mssql package resolved, and batches reached the fake.
    expect(createRequire(import.meta.url).resolve('mssql')).toMatch(/node_modules[\\/]mssql[\\/]/);
    expect(srv.batches.some((b) => /fn_cdc_get_all_changes_dbo_orders_v2/.test(b))).toBe(true);
  });

  it('fake TDS server: ERROR tokens are classified by number (313 OFFSET_LOST, 1205 retriable), a refused login is fatal', async () => {
    const srv = await fake((sql) => {
      if (/deadlock/.test(sql))
        throw new TdsServerError(
          1205,
          'Transaction (Process ID 52) was deadlocked on lock resources with another process and has been chosen as the deadlock victim. Rerun the transaction.',
          13,
        );
      throw new TdsServerError(
        313,
        'An insufficient number of arguments were supplied for the procedure or function cdc.fn_cdc_get_all_changes_ ... .',
      );
    });
    const db = new MssqlPoolExecutor(mssqlConfig({ url: url(srv.port) }), quietLog);
    try {
      await expect(db.batch('SELECT deadlock')).rejects.toMatchObject({
        code: 'MSSQL_ERROR',
        number: 1205,
        retriable: true,
      });
      await expect(
        db.batch("SELECT * FROM cdc.fn_cdc_get_all_changes_x(0x00, 0x00, N'all')"),
      ).rejects.toBeInstanceOf(OffsetLostError);
    } finally {
      await db.close();
    }

    const refusing = await fake(() => [], {
      loginError: new TdsServerError(18456, "Login failed for user 'sa'."),
    });
    const db2 = new MssqlPoolExecutor(mssqlConfig({ url: url(refusing.port) }), quietLog);
    try {
      const err = await db2.batch('SELECT 1').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MssqlLoginError);
      expect(err).toMatchObject({ code: 'MSSQL_LOGIN_FAILED', retriable: false });
      expect((err as Error).message).toMatch(/Login failed for user 'sa'/);
    } finally {
      await db2.close();
    }
  });
});

/** The recorded catalog of the introspector tests (tedious type names) as the fake server's result sets. */
const tdsTypes: Record<string, TdsType> = {
  NVarChar: 'nvarchar',
  VarChar: 'varchar',
  Char: 'varchar',
  Int: 'int',
  Bit: 'bit',
};
function catalogOverTds(sql: string, params: readonly unknown[]) {
  try {
    const r = mssqlCatalog({ sql, bindings: params });
    return [{ columns: r.columns.map((c) => ({ name: c.name, type: tdsTypes[c.type]! })), rows: r.rows }];
  } catch (err) {
    throw new TdsServerError(208, (err as Error).message);
  }
}

describe('sluice init over SQL Server through the real tedious driver (fake TDS server)', () => {
  it('fake TDS server: sluice init --url mssql://… introspects with sp_executesql RPCs and writes a config that validates', async () => {
    const srv = await fake(catalogOverTds);
    const dir = await mkdtemp(join(tmpdir(), 'sluice-mssql-init-'));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = join(dir, 'sluice.yaml');
      const dbUrl = url(srv.port);
      await buildProgram().parseAsync(['node', 'sluice', 'init', '--url', dbUrl, '-o', out, '--force']);
      const cfg = parse(await readFile(out, 'utf8')) as Record<string, unknown>;
      expect(() => parseConfig(cfg, { ERP_DATABASE_URL: dbUrl })).not.toThrow();
      const api = cfg.api as {
        resources: Record<string, { table: string; key: string[]; fields: Record<string, unknown> }>;
      };
      expect(Object.keys(api.resources)).toEqual(['custmast', 'ordhdr', 'ordline']);
      expect(api.resources.custmast!.key).toEqual(['custNo']);
      expect(api.resources.custmast!.fields).toMatchObject({
        actvFlg: { column: 'ACTV_FLG', codec: 'yn', nullable: false },
        balAmt: { column: 'BAL_AMT', codec: 'decimal', options: { scale: 2 } },
      });
      // The catalog queries arrived on the wire as sp_executesql with their parameters decoded.
      expect(srv.rpcs).toContainEqual({
        sql: 'select distinct top (@p0) [ACTV_FLG] from [dbo].[CUSTMAST]',
        params: [5],
      });
      expect(
        srv.rpcs.some((r) => /INFORMATION_SCHEMA\.COLUMNS/.test(r.sql) && r.params[1] === 'ORDLINE'),
      ).toBe(true);
    } finally {
      stderr.mockRestore();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('REST API over SQL Server through the real tedious driver (fake TDS server)', () => {
  it('fake TDS server: GET /api/customers/:key reads the row with a bound key and applies the codecs', async () => {
    const { parseConfigText } = await import('../../src/config/load.js');
    const { createApiRuntime, createAppFromRuntime } = await import('../../src/http/server.js');
    const srv = await fake((sql, params) => {
      if (/from \[dbo\]\.\[CUSTMAST\]/i.test(sql))
        return [
          {
            columns: [
              { name: 'CUST_NO', type: 'varchar' },
              { name: 'CUST_NM', type: 'nvarchar' },
              { name: 'ACTV_FLG', type: 'varchar' },
              { name: 'BAL_AMT', type: 'decimal', precision: 12, scale: 2 },
            ],
            rows: params.includes('C0000042') ? [['C0000042', 'ACME TOOLING  ', 'Y', '1520.00']] : [],
          },
        ];
      // knex's hasTable, from the runtime's start-up check of each resource's table.
      if (/FROM INFORMATION_SCHEMA\.TABLES WHERE TABLE_NAME = @p0/.test(sql))
        return [
          {
            columns: [{ name: 'TABLE_NAME', type: 'nvarchar' }],
            rows: params[0] === 'CUSTMAST' ? [['CUSTMAST']] : [],
          },
        ];
      return catalogOverTds(sql, params);
    });
    const yaml = `
api:
  resources:
    customers:
      table: dbo.CUSTMAST
      url: \${DB_URL}
      key: [id]
      fields:
        id: { column: CUST_NO, codec: trim }
        name: { column: CUST_NM, codec: trim }
        active: { column: ACTV_FLG, codec: yn }
        balance: { column: BAL_AMT, codec: decimal, options: { scale: 2 } }
`;
    const api = parseConfigText(yaml, { DB_URL: url(srv.port) }).api!;
    const rt = await createApiRuntime(api, [], quietLog);
    try {
      const app = createAppFromRuntime(api, rt, quietLog);
      const res = await app.request('/api/customers/C0000042');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        id: 'C0000042',
        name: 'ACME TOOLING',
        active: true,
        balance: '1520.00',
      });
      expect((await app.request('/api/customers/NOPE')).status).toBe(404);
      const read = srv.rpcs.find(
        (r) => /from \[dbo\]\.\[CUSTMAST\]/i.test(r.sql) && r.params.includes('C0000042'),
      );
      expect(read?.sql).toMatch(/where \[CUST_NO\] = @p1$/i);
    } finally {
      await rt.close();
    }
  });
});

describe('snapshot streaming through the real driver (fake TDS server)', () => {
  it('fake TDS server: a 20,000-row table arrives in order in chunks of snapshotChunkSize, the driver paused in between', async () => {
    const s = scenario();
    const n = 20_000;
    const srv = await fake((sql) => {
      const sets = respond(s, sql);
      if (!/BEGIN TRANSACTION/.test(sql)) return sets;
      // The snapshot batch: the max LSN, then dbo.orders (made large here), then dbo.customers.
      const [position, orders, customers] = sets as [TdsResult, TdsResult, TdsResult];
      const rows = Array.from({ length: n }, (_, i) => [
        i + 1,
        `${i}.00`,
        '2024-01-01T00:00:00.0000000',
        `row ${i + 1}`,
        'OPEN',
      ]);
      return [position, { columns: orders.columns, rows }, customers];
    });
    const cfg = mssqlConfig({ url: url(srv.port), snapshotChunkSize: 500 });
    const db = new MssqlPoolExecutor(cfg, quietLog);
    const adapter = createMssqlAdapter(cfg, quietLog, db);
    const sizes: number[] = [];
    const ids: unknown[] = [];
    try {
      for await (const b of adapter.snapshot({ signal: new AbortController().signal, log: quietLog }, null)) {
        sizes.push(b.changes.length);
        for (const c of b.changes) if (c.event.source.table === 'orders') ids.push(c.key.id);
        // A consumer that does not take the next batch until the driver has paused: it must wait
        // with a bounded buffer instead of reading the whole table into memory.
        if (sizes.length === 1) await waitFor(async () => db.pauses > 0, 'the driver paused', 30_000, 5);
      }
    } finally {
      await adapter.close();
    }
    expect(db.pauses).toBeGreaterThan(0);
    expect(ids).toHaveLength(n);
    expect(ids.every((id, i) => id === i + 1)).toBe(true);
    expect(Math.max(...sizes)).toBe(500);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(n + 1);
  }, 60_000);
});
