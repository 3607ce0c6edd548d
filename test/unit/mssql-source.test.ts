// The mssql adapter from driver rows to events, on recorded result sets in the `mssql` driver's
// shapes (no server, no driver): snapshot, CDC merge order across tables, updates with their
// before image, key changes, a schema change through a second capture instance, resume inside a
// transaction, OFFSET_LOST below the CDC window, Change Tracking, preflight and error classes.
import { describe, expect, it } from 'vitest';
import { createMssqlAdapter } from '../../adapters/mssql/index.js';
import { classifyMssqlError, MssqlLoginError } from '../../adapters/mssql/mssql-errors.js';
import type { MssqlExecutor } from '../../adapters/mssql/mssql-session.js';
import { changeEventSchema, type SourceChange } from '../../src/core/change-event.js';
import { OffsetLostError, SourceUnavailableError } from '../../src/core/errors.js';
import { quietLog } from '../support/harness.js';
import { collect, L, mssqlConfig, recordedExecutor, scenario } from '../support/mssql-recorded.js';

/** The error streaming from the end of commit `lsn` fails with (null if it does not). */
const streamFailure = (db: MssqlExecutor, lsn: string) =>
  collect(db, {
    from: { mode: 'cdc', lsn: lsn.replace(/:/g, ''), seqval: 'ffffffffffffffffffff', op: 4 },
    count: 1,
  }).then(
    () => null,
    (e: unknown) => e,
  );

const brief = (c: SourceChange) => {
  const e = c.event;
  const src = e.source as {
    table: string;
    commit_lsn?: string | null;
    change_lsn?: string | null;
    event_serial_no?: number | null;
  };
  return `${e.op} ${src.table} ${JSON.stringify(c.key)} ${src.commit_lsn ?? ''}/${src.change_lsn ?? ''}#${src.event_serial_no ?? ''}`;
};

describe('mssql adapter on recorded rows (no server)', () => {
  it('snapshot reads every row at the max LSN, then CDC streams all tables merged in (commit LSN, seqval, op) order', async () => {
    const s = scenario();
    const { changes, batches } = await collect(recordedExecutor(s), { snapshot: true, count: 12 });
    for (const c of changes) expect(changeEventSchema.safeParse(c.event).success).toBe(true);
    expect(changes.map(brief)).toEqual([
      'r orders {"id":1} 00000025:00000050:0001/#',
      'r orders {"id":2} 00000025:00000050:0001/#',
      'r customers {"id":"9007199254740993"} 00000025:00000050:0001/#',
      // B: two tables in one commit, by seqval
      'c orders {"id":3} 00000025:0000009f:0004/00000025:0000009e:0002#1',
      'u customers {"id":"9007199254740993"} 00000025:0000009f:0004/00000025:0000009e:0003#1',
      'c orders {"id":4} 00000025:0000009f:0004/00000025:0000009e:0004#1',
      // C (bytes 0x0100 after 0x009f): a key change is delete + insert at one seqval; one row updated twice
      'd orders {"id":4} 00000025:00000100:0002/00000025:000000ff:0001#1',
      'c orders {"id":5} 00000025:00000100:0002/00000025:000000ff:0001#2',
      'u customers {"id":2} 00000025:00000100:0002/00000025:000000ff:00ff#1',
      'u customers {"id":2} 00000025:00000100:0002/00000025:000000ff:0100#1',
      // D: the orders change from the second capture instance only (it has `status`)
      'u orders {"id":5} 00000026:00000010:0003/00000026:00000010:0001#1',
      'd customers {"id":2} 00000026:00000010:0003/00000026:00000010:0002#1',
    ]);
    // The snapshot's last batch hands over the max LSN it read, as a finished commit.
    expect(batches.find((b) => b.offset && b.changes.some((c) => c.event.op === 'r'))?.offset).toEqual({
      mode: 'cdc',
      lsn: '00000025000000500001',
      seqval: 'ffffffffffffffffffff',
      op: 4,
    });
    // Values: exact decimals and money as text, datetime2(7) and datetimeoffset with 7 digits,
    // bigint beyond 2^53 as a string, date, GUID, bit, varbinary/rowversion as base64, ntext.
    const ada = changes[4]!.event;
    expect(ada.before).toMatchObject({ name: 'Ada', balance: '100.0000', rv: 'AAAAAAAAB9E=' });
    expect(ada.after).toEqual({
      id: '9007199254740993',
      name: 'Ada L.',
      balance: '922337203685477.5807',
      guid: '6F9619FF-8B86-D011-B42D-00C04FC964FF',
      active: true,
      born: '1969-07-20',
      seen: '2024-02-28T23:14:15.1234567Z',
      photo: 'yv4=',
      rv: 'AAAAAAAAB9I=',
      legacy_note: 'ntext ☃',
    });
    expect(changes[0]!.event.after).toEqual({
      id: 1,
      amount: '1520.00',
      placed: '2024-02-29T13:14:15.1234567',
      note: 'first',
      status: 'OPEN',
    });
    expect(changes[10]!.event.after).toEqual({
      id: 5,
      amount: '0.01',
      placed: '2024-03-01T10:00:01.0000001',
      note: 'cut',
      status: 'SHIPPED',
    });
    expect(changes[10]!.event.before).toMatchObject({ id: 5, amount: '99999999.99', status: null });
    expect(changes[6]!.event.before).toMatchObject({ id: 4 });
    expect(changes[6]!.event.after).toBeNull();
    // Debezium's source block and transaction metadata; ts_ms is the commit time.
    expect(changes[4]!.event.source).toMatchObject({
      connector: 'sqlserver',
      name: 'erp',
      db: 'erp',
      schema: 'dbo',
      snapshot: 'false',
      ts_ms: Date.parse('2024-03-01T10:00:02Z'),
    });
    expect(changes[5]!.event.transaction).toEqual({
      id: '00000025:0000009f:0004',
      total_order: 3,
      data_collection_order: 2,
    });
    // Deterministic message ids: position = lsn:seqval:op, the insert after the delete at index 1.
    expect(changes.slice(6, 8).map((c) => `${c.position}/${c.index}`)).toEqual([
      '00000025000001000002:00000025000000ff0001:1/0',
      '00000025000001000002:00000025000000ff0001:2/1',
    ]);
    // Offsets end each commit; the old capture instance is never asked for LSNs from D on.
    const offsets = batches
      .filter((b) => b.changes.length > 0 && b.offset?.mode === 'cdc')
      .map((b) => b.offset);
    expect(offsets).toContainEqual({
      mode: 'cdc',
      lsn: '00000025000001000002',
      seqval: 'ffffffffffffffffffff',
      op: 4,
    });
    const oldReads = s.seen.filter((q) => /fn_cdc_get_all_changes_dbo_orders\]/.test(q));
    expect(oldReads.every((q) => /WHERE c\.\[__\$start_lsn\] < 0x00000026000000100003/.test(q))).toBe(true);
  });

  it('resumes inside a transaction from the committed (lsn, seqval, op), skipping what was published', async () => {
    const { changes } = await collect(recordedExecutor(scenario()), {
      from: { mode: 'cdc', lsn: '00000025000001000002', seqval: '00000025000000ff0001', op: 1 },
      count: 2,
    });
    expect(changes.map(brief).slice(0, 2)).toEqual([
      'c orders {"id":5} 00000025:00000100:0002/00000025:000000ff:0001#2',
      'u customers {"id":2} 00000025:00000100:0002/00000025:000000ff:00ff#1',
    ]);
  });

  it('bounds a read to maxTransactionsPerPoll commits', async () => {
    const s = scenario();
    await collect(recordedExecutor(s), {
      from: { mode: 'cdc', lsn: L.A.replace(/:/g, ''), seqval: 'ffffffffffffffffffff', op: 4 },
      count: 3,
      config: { maxTransactionsPerPoll: 1 },
    });
    const first = s.seen.find((q) => /fn_cdc_get_all_changes_/.test(q))!;
    expect(first).toContain(", 0x000000250000009f0004, N'all update old')");
  });

  it('an offset below sys.fn_cdc_get_min_lsn() is OFFSET_LOST naming the re-snapshot command', async () => {
    const s = scenario({ minLsn: { dbo_orders: L.B, dbo_customers: L.enabled, dbo_orders_v2: L.D } });
    const err = await streamFailure(recordedExecutor(s), L.A);
    expect(err).toBeInstanceOf(OffsetLostError);
    expect((err as Error).message).toMatch(
      /fn_cdc_get_min_lsn\('dbo_orders'\).*nats kv del sluice_offsets offset\.erp/,
    );
  });

  it('a capture instance created after the offset (new table, schema change) is not a loss', async () => {
    const s = scenario({
      minLsn: { dbo_orders: L.enabled, dbo_customers: L.C, dbo_orders_v2: L.D },
      created: {
        dbo_orders: new Date('2024-01-01T00:00:00Z'),
        dbo_customers: new Date('2024-03-01T10:00:02.500Z'),
        dbo_orders_v2: new Date('2024-03-01T10:04:00Z'),
      },
    });
    const { changes } = await collect(recordedExecutor(s), {
      from: { mode: 'cdc', lsn: L.B.replace(/:/g, ''), seqval: 'ffffffffffffffffffff', op: 4 },
      count: 4,
    });
    expect(changes.map(brief)[0]).toBe('d orders {"id":4} 00000025:00000100:0002/00000025:000000ff:0001#1');
  });

  it('mode: changeTracking reads CHANGETABLE at one version, checks the minimum valid version', async () => {
    const s = scenario();
    const { changes, batches } = await collect(recordedExecutor(s), {
      from: { mode: 'changeTracking', version: '39' },
      count: 3,
      config: { mode: 'changeTracking' },
    });
    expect(changes.map((c) => `${c.event.op} ${c.event.source.table} ${JSON.stringify(c.key)}`)).toEqual([
      'c orders {"id":3}',
      'u customers {"id":"9007199254740993"}',
      'd orders {"id":1}',
    ]);
    expect(changes[2]!.event.before).toEqual({ id: 1 });
    expect(changes[1]!.event.after).toMatchObject({
      balance: '1.0000',
      seen: '2024-02-28T23:14:15.1234567Z',
    });
    expect(changes[0]!.position).toBe('ct:41:dbo.orders:[3]');
    expect(batches.at(-1)?.offset).toEqual({ mode: 'changeTracking', version: '42' });
    const poll = s.seen.find((q) => /CHANGETABLE/.test(q))!;
    expect(poll).toMatch(
      /SET TRANSACTION ISOLATION LEVEL SNAPSHOT;\nBEGIN TRANSACTION;\nDECLARE @cur bigint = CHANGE_TRACKING_CURRENT_VERSION\(\)/,
    );

    const lost = scenario({ ctMinValid: '40' });
    const err = await collect(recordedExecutor(lost), {
      from: { mode: 'changeTracking', version: '39' },
      count: 1,
      config: { mode: 'changeTracking' },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OffsetLostError);
    expect((err as Error).message).toMatch(/CHANGE_TRACKING_MIN_VALID_VERSION of dbo\.orders \(40\)/);
  });

  it('preflight names the sp_cdc_enable_db / sp_cdc_enable_table call and the Agent', async () => {
    const off = createMssqlAdapter(
      mssqlConfig(),
      quietLog,
      recordedExecutor(scenario({ cdcEnabled: false })),
    );
    const r1 = await off.preflight();
    expect(r1.ok).toBe(false);
    expect(r1.problems.join('\n')).toMatch(/EXEC sys\.sp_cdc_enable_db;/);

    const untracked = createMssqlAdapter(
      mssqlConfig({ tables: ['dbo.orders', 'dbo.audit'] }),
      quietLog,
      recordedExecutor(scenario()),
    );
    expect((await untracked.preflight()).problems).toContain(
      "table dbo.audit is not captured by CDC: run EXEC sys.sp_cdc_enable_table @source_schema = 'dbo', @source_name = 'audit', @role_name = NULL;",
    );

    const agent = createMssqlAdapter(
      mssqlConfig(),
      quietLog,
      recordedExecutor(scenario({ agentRunning: false })),
    );
    expect((await agent.preflight()).problems.join('\n')).toMatch(
      /fn_cdc_get_max_lsn\(\) is NULL: the SQL Server Agent is not running/,
    );

    const ok = createMssqlAdapter(mssqlConfig({ tables: ['dbo.*'] }), quietLog, recordedExecutor(scenario()));
    const r4 = await ok.preflight();
    expect(r4.problems).toEqual([
      "table dbo.audit is not captured by CDC: run EXEC sys.sp_cdc_enable_table @source_schema = 'dbo', @source_name = 'audit', @role_name = NULL;",
    ]);
    expect(r4.facts).toMatchObject({
      database: 'erp',
      cdcEnabled: true,
      agentRunning: true,
      tables: ['dbo.audit', 'dbo.customers', 'dbo.orders'],
    });
  });
});

describe('SQL Server error classification', () => {
  const e = (number: number | undefined, code = 'EREQUEST') =>
    Object.assign(new Error(`error ${number}`), { number, code });
  it('login failure 18456 is fatal; deadlock 1205 and lock timeout 1222 retriable; timeouts and failover unavailable; 313 OFFSET_LOST', () => {
    const login = classifyMssqlError(e(18456, 'ELOGIN'), 'connect', 'erp');
    expect(login).toBeInstanceOf(MssqlLoginError);
    expect(login).toMatchObject({ code: 'MSSQL_LOGIN_FAILED', retriable: false });
    expect(classifyMssqlError(e(1205), 'q', 'erp')).toMatchObject({
      code: 'MSSQL_ERROR',
      retriable: true,
      number: 1205,
    });
    expect(classifyMssqlError(e(1222), 'q', 'erp').retriable).toBe(true);
    expect(classifyMssqlError(e(undefined, 'ETIMEOUT'), 'q', 'erp')).toBeInstanceOf(SourceUnavailableError);
    expect(classifyMssqlError(e(undefined, 'ESOCKET'), 'q', 'erp')).toBeInstanceOf(SourceUnavailableError);
    expect(classifyMssqlError(e(40613), 'q', 'erp')).toBeInstanceOf(SourceUnavailableError);
    expect(classifyMssqlError(e(976), 'q', 'erp')).toBeInstanceOf(SourceUnavailableError);
    expect(classifyMssqlError(e(313), 'q', 'erp')).toBeInstanceOf(OffsetLostError);
    expect(classifyMssqlError(e(208), 'q', 'erp')).toMatchObject({ retriable: false, number: 208 });
    const cause = e(1205);
    expect(classifyMssqlError(cause, 'q', 'erp').cause).toBe(cause);
  });
});

describe('mssql capture instances changing while streaming', () => {
  it('an old capture instance dropped before it was read up to its successor is OFFSET_LOST', async () => {
    // Streaming from B with dbo_orders and dbo_orders_v2; then the DBA drops dbo_orders early.
    const s = scenario();
    const db = recordedExecutor(s);
    const real = db.batch.bind(db);
    let polls = 0;
    db.batch = async (sql) => {
      if (/fn_cdc_map_lsn_to_time/.test(sql) && ++polls === 1)
        s.instances = ['dbo_customers', 'dbo_orders_v2'];
      return real(sql);
    };
    const err = await streamFailure(db, L.B);
    expect(err).toBeInstanceOf(OffsetLostError);
    expect((err as Error).message).toMatch(
      /capture instance dbo_orders of dbo\.orders was dropped before erp read it up to 00000026:00000010:0003/,
    );
  });
});
