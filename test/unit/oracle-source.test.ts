// The `oracle` adapter from driver rows to change events, with no Oracle: a fake oracledb driver
// answers its queries from recorded rows in oracledb's shapes (test/support/fake-oracle-logminer.ts).
// Covers preflight, the AS OF SCN snapshot, LogMiner windows, commit order across redo threads,
// rollbacks (whole and to a savepoint), a transaction spanning windows, resume, spill, OFFSET_LOST.
import { describe, expect, test } from 'vitest';
import { OracleAdapter } from '../../adapters/oracle/index.js';
import { oracleSourceSchema, type OracleSourceConfig } from '../../adapters/oracle/config.js';
import type { OracleOffset } from '../../adapters/oracle/oracle-offset.js';
import { changeEventSchema, type SourceChange } from '../../src/core/change-event.js';
import { OffsetLostError } from '../../src/core/errors.js';
import type { ChangeBatch } from '../../src/core/source-adapter.js';
import { quietLog } from '../support/harness.js';
import { fakeOracle, type FakeOracleWorld } from '../support/fake-oracle-logminer.js';
import { ins, T, world } from '../support/oracle-recorded-world.js';

function adapter(w: FakeOracleWorld, extra: Record<string, unknown> = {}) {
  const cfg: OracleSourceConfig = oracleSourceSchema.parse({
    name: 'erp',
    kind: 'oracle',
    url: 'oracle://c%23%23sluice:pw@db.example:1521/FREEPDB1',
    tables: ['APP.CUSTOMERS'],
    pollInterval: '5ms',
    miningWindow: 5,
    ...extra,
  });
  const fake = fakeOracle(w);
  return { fake, source: new OracleAdapter(cfg, quietLog, () => Promise.resolve(fake.driver)) };
}

/** Runs the stream from `from` until a batch commits through `untilCommitScn`. */
async function streamUntil(
  source: OracleAdapter,
  from: OracleOffset | null,
  untilCommitScn: string,
): Promise<ChangeBatch<OracleOffset>[]> {
  const ac = new AbortController();
  const out: ChangeBatch<OracleOffset>[] = [];
  for await (const b of source.stream({ signal: ac.signal, log: quietLog }, from)) {
    out.push(b);
    if (b.offset?.commitScn === untilCommitScn) break;
  }
  ac.abort();
  return out;
}

const events = (batches: readonly ChangeBatch<OracleOffset>[]): SourceChange[] =>
  batches.flatMap((b) => b.changes);
const brief = (c: SourceChange) => ({ op: c.event.op, key: c.key, tx: c.event.source.txId });

describe('oracle adapter on recorded rows (fake oracledb driver)', () => {
  test('preflight passes on a prepared database and names the fixing statement for each problem', async () => {
    const ok = await adapter(world()).source.preflight();
    expect(ok.problems).toEqual([]);
    expect(ok.ok).toBe(true);
    expect(ok.facts).toMatchObject({
      logMode: 'ARCHIVELOG',
      serverVersion: '23.5.0.24.7',
      tables: ['APP.CUSTOMERS'],
    });

    const w = world({
      logMode: 'NOARCHIVELOG',
      supplementalMin: 'NO',
      privileges: ['CREATE SESSION'],
      roles: [],
    });
    w.tables['APP.CUSTOMERS']!.allColumnLogging = false;
    const bad = await adapter(w).source.preflight();
    expect(bad.ok).toBe(false);
    const text = bad.problems.join('\n');
    expect(text).toContain('GRANT LOGMINING TO C##SLUICE');
    expect(text).toContain('GRANT SELECT_CATALOG_ROLE TO C##SLUICE');
    expect(text).toContain('GRANT EXECUTE_CATALOG_ROLE TO C##SLUICE');

    const w2 = world({ logMode: 'NOARCHIVELOG', supplementalMin: 'NO' });
    w2.tables['APP.CUSTOMERS']!.allColumnLogging = false;
    const bad2 = (await adapter(w2).source.preflight()).problems.join('\n');
    expect(bad2).toContain('STARTUP MOUNT; ALTER DATABASE ARCHIVELOG; ALTER DATABASE OPEN;');
    expect(bad2).toContain('ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;');
    expect(bad2).toContain('ALTER TABLE APP.CUSTOMERS ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;');
  });

  test('snapshot reads AS OF one SCN in key order, values in event form, and hands streaming the oldest open transaction', async () => {
    const { source, fake } = adapter(world({ currentScns: ['2000', '2001'], oldestOpenScn: '1990' }), {
      snapshotChunkSize: 1,
    });
    const ac = new AbortController();
    const batches: ChangeBatch<OracleOffset>[] = [];
    for await (const b of source.snapshot({ signal: ac.signal, log: quietLog }, null)) batches.push(b);
    expect(batches[0]).toMatchObject({ changes: [], sync: true, offset: { scn: '1990', commitScn: '2001' } });
    const rows = events(batches);
    expect(rows.map((c) => c.event.op)).toEqual(['r', 'r']);
    for (const c of rows) changeEventSchema.parse(c.event);
    expect(rows[0]!.event.after).toEqual({
      ID: 1,
      NAME: 'ACME  ',
      NOTE: null,
      BAL: '0.5',
      BIG: '123456789012345678901234567890',
      CREATED: '2026-11-01T08:00:00',
      UPDATED: '2026-11-01T06:00:00.123456Z',
      SEEN: '2026-11-01T06:00:00.000001Z',
      PHOTO: Buffer.from([0, 255]).toString('base64'),
      DOC: 'hello',
    });
    expect(rows[0]!.event.source).toMatchObject({
      connector: 'oracle',
      scn: '2001',
      snapshot: 'true',
      schema: 'APP',
      table: 'CUSTOMERS',
      db: 'FREEPDB1',
    });
    expect(rows[1]!.key).toEqual({ ID: 7 });
    expect(batches.at(-1)!.offset).toEqual({ scn: '1990', commitScn: '2001' });
    const reads = fake.sent.filter((q) => q.sql.includes('AS OF SCN'));
    expect(reads[0]!.sql).toContain(`TO_CHAR(SYS_EXTRACT_UTC("UPDATED"), 'YYYY-MM-DD HH24:MI:SS.FF6')`);
    expect(reads.map((q) => q.binds)).toEqual([['2001'], ['2001', '1'], ['2001', '7']]);
    expect(source.needsSnapshot(batches[1]!.offset)).toBe(true);
    expect(source.needsSnapshot(batches.at(-1)!.offset)).toBe(false);
  });

  test('streaming: commit order across redo threads at one SCN, rollbacks dropped, a transaction spanning windows held back', async () => {
    const { source, fake } = adapter(world());
    const batches = await streamUntil(source, { scn: '1000', commitScn: '1000' }, '1013');
    expect(fake.windows).toEqual([
      ['1000', '1005'],
      ['1005', '1010'],
      ['1010', '1015'],
    ]);
    const all = events(batches);
    for (const c of all) changeEventSchema.parse(c.event);
    expect(all.map(brief)).toEqual([
      { op: 'c', key: { ID: 2 }, tx: 'A1' },
      { op: 'u', key: { ID: 1 }, tx: 'B1' },
      { op: 'c', key: { ID: 3 }, tx: 'E1' },
      { op: 'd', key: { ID: 1 }, tx: 'E1' },
      { op: 'c', key: { ID: 10 }, tx: 'D1' },
      { op: 'u', key: { ID: 10 }, tx: 'D1' },
    ]);
    // The insert whose SQL_REDO came in two continuation rows, every type in event form.
    const a = all[0]!;
    expect(a.event.after).toEqual({
      ID: 2,
      NAME: "O'Brien, and sons",
      NOTE: 'café',
      BAL: '0.5',
      BIG: '123456789012345678901234567890',
      CREATED: '2026-11-02T09:30:00',
      UPDATED: '2026-11-02T07:30:00.123456Z',
      SEEN: '2026-11-02T07:30:00.000001Z',
      PHOTO: 'AP8=',
    });
    expect(a.event.source).toMatchObject({
      scn: '1003',
      commit_scn: '1005',
      txId: 'A1',
      rs_id: '0x00000b.00001003.0010',
      ssn: 0,
      redo_thread: 1,
      user_name: 'APPUSER',
      unavailable: ['DOC'],
      ts_ms: T.getTime() + 1005,
    });
    expect(a.position).toBe('1005-1-A1');
    // The update's before image is the WHERE list (supplemental logging of all columns).
    const b = all[1]!;
    expect(b.event.before).toEqual({ ID: 1, NAME: 'ACME  ', NOTE: null, BAL: '0.5' });
    expect(b.event.after).toEqual({ ID: 1, NAME: "ACME 'NEW'", NOTE: null, BAL: '0.5' });
    expect(b.event.source).toMatchObject({ redo_thread: 2, commit_scn: '1005' });
    expect(b.position).toBe('1005-2-B1');
    expect(all[3]!.event.transaction).toEqual({ id: 'E1', total_order: 2, data_collection_order: 2 });
    // Offsets: D (open since 1001) holds the restart SCN back until it commits.
    const offsets = batches.filter((x) => x.offset).map((x) => x.offset);
    expect(offsets).toEqual([
      { scn: '1001', commitScn: '1000' },
      { scn: '1001', commitScn: '1005', last: { thread: 1, txId: 'A1' } },
      { scn: '1001', commitScn: '1005', last: { thread: 2, txId: 'B1' } },
      { scn: '1001', commitScn: '1009', last: { thread: 1, txId: 'E1' } },
      { scn: '1015', commitScn: '1013', last: { thread: 1, txId: 'D1' } },
    ]);
    // C (rolled back) and the other table's rows never appear.
    expect(all.some((c) => (c.key as { ID?: number }).ID === 99)).toBe(false);
  });

  test('resume from an offset between two transactions of one commit SCN publishes the rest once, with the same ids', async () => {
    const first = events(
      await streamUntil(adapter(world()).source, { scn: '1000', commitScn: '1000' }, '1013'),
    );
    const { source, fake } = adapter(world());
    const resumed = events(
      await streamUntil(source, { scn: '1001', commitScn: '1005', last: { thread: 1, txId: 'A1' } }, '1013'),
    );
    expect(fake.windows[0]).toEqual(['1001', '1006']);
    expect(resumed.map(brief).map((x) => x.tx)).toEqual(['B1', 'E1', 'E1', 'D1', 'D1']);
    const ids = (cs: SourceChange[]) => cs.map((c) => `${c.position}:${c.index}`);
    expect(ids(resumed)).toEqual(ids(first.slice(1)));
  });

  test('a transaction past spillAfterRows goes through a temporary file and comes out the same, savepoint rollback included', async () => {
    const strip = (cs: SourceChange[]) => cs.map((c) => ({ ...c, event: { ...c.event, ts_ms: 0 } }));
    const inMemory = events(
      await streamUntil(adapter(world()).source, { scn: '1000', commitScn: '1000' }, '1013'),
    );
    const spilled = events(
      await streamUntil(
        adapter(world(), { spillAfterRows: 1 }).source,
        { scn: '1000', commitScn: '1000' },
        '1013',
      ),
    );
    expect(strip(spilled)).toEqual(strip(inMemory));
  });

  test('a large transaction is split into batches; only the last carries the offset', async () => {
    const batches = await streamUntil(
      adapter(world(), { maxBatchRows: 1 }).source,
      { scn: '1000', commitScn: '1000' },
      '1013',
    );
    const e = batches.filter((b) => b.changes.some((c) => c.event.source.txId === 'E1'));
    expect(e.map((b) => b.changes.length)).toEqual([1, 1]);
    expect(e[0]!.offset).toBeNull();
    expect(e[1]!.offset).toMatchObject({ commitScn: '1009' });
  });

  test('archived logs gone: OFFSET_LOST naming the re-snapshot command', async () => {
    const w = world();
    w.logs = w.logs.map((l) => ({ ...l, FIRST_SCN: l.THREAD === '2' ? '1003' : l.FIRST_SCN }));
    const { source } = adapter(w);
    const err = await streamUntil(source, { scn: '1000', commitScn: '1000' }, '1013').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(OffsetLostError);
    expect((err as Error).message).toMatch(
      /redo from SCN 1000 is gone .*redo thread 2.*nats kv del sluice_offsets offset\.erp/,
    );
  });

  test('LogMiner cannot rebuild a captured change (UNSUPPORTED): the stream stops with the reason, nothing is skipped', async () => {
    const w = world();
    w.redo.splice(3, 0, ins('1003', 'A1', 'Unsupported', { OPERATION_CODE: '255' }));
    const err = await streamUntil(adapter(w).source, { scn: '1000', commitScn: '1000' }, '1013').then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/cannot rebuild a change to APP.CUSTOMERS at SCN 1003/);
  });

  test('a login refused by the server (ORA-01017) is fatal, a dropped connection (ORA-03113) retriable', async () => {
    const failing = async (err: Error) => {
      const { source, fake } = adapter(world());
      fake.failNext = err;
      return streamUntil(source, { scn: '1000', commitScn: '1000' }, '1013').then(
        () => null,
        (e: unknown) => e as { code: string; retriable: boolean },
      );
    };
    const login = await failing(
      Object.assign(new Error('ORA-01017: invalid credential or not authorized'), { errorNum: 1017 }),
    );
    expect(login).toMatchObject({ code: 'ORACLE_LOGIN_FAILED', retriable: false });
    const lost = await failing(
      Object.assign(new Error('ORA-03113: end-of-file on communication channel'), { errorNum: 3113 }),
    );
    expect(lost).toMatchObject({ code: 'SOURCE_UNAVAILABLE', retriable: true });
    const deadlock = await failing(
      Object.assign(new Error('ORA-00060: deadlock detected'), { errorNum: 60 }),
    );
    expect(deadlock).toMatchObject({ retriable: true });
  });
});

describe('oracle adapter and the real oracledb module', () => {
  test('the default loader is the real oracledb, in Thin mode, and the type handler speaks its constants', async () => {
    const { loadOracledb } = await import('../../adapters/oracle/oracle-session.js');
    const { fetchTypeHandler } = await import('../../adapters/oracle/oracle-types.js');
    const real = (await loadOracledb()) as unknown as Record<string, unknown> & { thin: boolean };
    expect(real.thin).toBe(true);
    const h = fetchTypeHandler(real as never);
    expect(h({ dbType: real.DB_TYPE_NUMBER })).toEqual({ type: real.STRING });
    expect(h({ dbType: real.DB_TYPE_CLOB })).toEqual({ type: real.STRING });
    expect(h({ dbType: real.DB_TYPE_NCLOB })).toEqual({ type: real.STRING });
    expect(h({ dbType: real.DB_TYPE_BLOB })).toEqual({ type: real.BUFFER });
    expect(h({ dbType: real.DB_TYPE_DATE })).toBeUndefined();
    expect(h({ dbType: real.DB_TYPE_RAW })).toBeUndefined();
  });

  test('a config with kind: oracle validates and reaches this adapter through the pipeline factory', async () => {
    const { parseConfig } = await import('../../src/config/load.js');
    const { createSourceAdapter } = await import('../../src/pipeline/adapters.js');
    const cfg = parseConfig({
      sources: [{ name: 'erp', kind: 'oracle', url: 'oracle://u:p@db/ERPPDB', tables: ['APP.CUSTOMERS'] }],
    }).sources[0]!;
    const a = await createSourceAdapter(cfg, quietLog);
    expect(a).toBeInstanceOf(OracleAdapter);
    expect(a.capabilities).toMatchObject({ beforeImage: 'full', transactions: true });
    await a.close();
    expect(() =>
      parseConfig({ sources: [{ name: 'x', kind: 'oracle', url: 'postgres://x/y', tables: ['A.B'] }] }),
    ).toThrow(/oracle:\/\//);
  });
});
