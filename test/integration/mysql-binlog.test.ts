// `kind: mysql` against a private MariaDB 10.11: exact values for every type the issue lists (the
// snapshot's `r` and the binlog's `c` of the same row must be equal), Debezium's mysql source
// fields, DDL followed while streaming, TRUNCATE as `t`, and preflight naming each fix.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createSourceAdapter } from '../../src/pipeline/adapters.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { mysqlSourceSchema } from '../../src/core/source-info.js';
import { Harness, quietLog } from '../support/harness.js';
import { mariadbMissing, TestMariaDB } from '../support/mariadb-server.js';
import { waitFor } from '../support/ports.js';

const TABLE = `CREATE TABLE sluice_test.wide (
  id int PRIMARY KEY, dec1 decimal(30,10), ubig bigint unsigned, sbig bigint, ti tinyint, fl float, db double,
  dt6 datetime(6), ts6 timestamp(6) NULL, d date, t6 time(6), tneg time, y year, bt bit(10), b64 bit(64),
  e enum('a','b,c'), st set('x','y'), j json, bl blob, vb varbinary(8), l1 char(6) CHARACTER SET latin1,
  vl varchar(20) CHARACTER SET latin1, u text, zd date, zdt datetime
) DEFAULT CHARSET=utf8mb4`;
const VALUES = (
  id: number,
) => `(${id}, -12345678901234567890.0123456789, 18446744073709551615, -9007199254740993, -128,
  0.1, 0.1, '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.000001', '2024-02-29', '13:14:15.000123', '-838:59:59',
  2024, b'1000000001', b'1111111111111111111111111111111111111111111111111111111111111111', 'b,c', 'x,y',
  '{"a": [1, 2.5, "x"], "big": 12345, "s": "é"}', x'00ff10', x'deadbeef', 'Grüße', 'façade', 'Grüße ✓ 日本 🎉',
  '0000-00-00', '0000-00-00 00:00:00')`;

const EXPECTED = {
  dec1: '-12345678901234567890.0123456789',
  ubig: '18446744073709551615',
  sbig: '-9007199254740993',
  ti: -128,
  fl: 0.1,
  db: 0.1,
  dt6: '2024-02-29T23:59:59.123456',
  // Written from a +05:30 session: stored and sent in UTC.
  ts6: '2024-02-29T18:29:59.000001Z',
  d: '2024-02-29',
  t6: '13:14:15.000123',
  tneg: '-838:59:59',
  y: 2024,
  bt: Buffer.from([0x02, 0x01]).toString('base64'),
  b64: Buffer.alloc(8, 0xff).toString('base64'),
  e: 'b,c',
  st: 'x,y',
  j: { a: [1, 2.5, 'x'], big: 12345, s: 'é' },
  bl: Buffer.from([0x00, 0xff, 0x10]).toString('base64'),
  vb: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64'),
  l1: 'Grüße',
  vl: 'façade',
  u: 'Grüße ✓ 日本 🎉',
  zd: null,
  zdt: null,
};

const skip = mariadbMissing;
let h: Harness;
let my: TestMariaDB;
let conn: mysql.Connection;
let rt: Runtime;

describe.skipIf(skip)(`mysql binlog source${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    [h, my] = await Promise.all([Harness.start(), TestMariaDB.start()]);
    conn = await mysql.createConnection(my.url());
    await conn.query(`SET time_zone = '+05:30', sql_mode = ''`);
    await conn.query(TABLE);
    await conn.query('CREATE TABLE sluice_test.ddl (id int PRIMARY KEY, a varchar(10), b int)');
    await conn.query(`INSERT INTO sluice_test.wide VALUES ${VALUES(1)}`);
    await conn.query(`INSERT INTO sluice_test.ddl VALUES (1, 'one', 1)`);
    const cfg = parseConfig({
      nats: { servers: h.nats.url, commitInterval: '50ms', leaseTtl: '2s' },
      sources: [
        {
          kind: 'mysql',
          name: 'my',
          url: my.url(),
          tables: ['sluice_test.wide', 'sluice_test.ddl'],
          heartbeatInterval: '1s',
        },
      ],
      log: { level: 'warn' },
    });
    rt = await h.runInProcess(cfg);
    await h.waitStreaming(rt);
  }, 120_000);

  afterAll(async () => {
    await rt?.stop();
    await conn?.end();
    await my?.stop();
    await h?.stop();
  });

  test('every type: the snapshot read and the binlog insert carry the same exact values', async () => {
    await conn.query(`INSERT INTO sluice_test.wide VALUES ${VALUES(2)}`);
    const evs = (await h.waitForEvents('my', 3)).filter((e) => e.subject.includes('.wide.'));
    const r = evs.find((e) => e.event.op === 'r')!.event as {
      after: Record<string, unknown>;
      source: Record<string, unknown>;
    };
    const c = evs.find((e) => e.event.op === 'c')!.event as {
      after: Record<string, unknown>;
      source: Record<string, unknown>;
    };
    expect(r.after).toStrictEqual({ id: 1, ...EXPECTED });
    expect(c.after).toStrictEqual({ id: 2, ...EXPECTED });
    expect(r.source.zero_dates).toEqual(['zd', 'zdt']);
    expect(c.source.zero_dates).toEqual(['zd', 'zdt']);
  });

  test('the source block has Debezium mysql fields; a streamed change names its GTID and transaction', async () => {
    await conn.query('BEGIN');
    await conn.query(`INSERT INTO sluice_test.ddl VALUES (2, 'two', 2), (3, 'three', 3)`);
    await conn.query(`UPDATE sluice_test.ddl SET b = 20 WHERE id = 2`);
    await conn.query('COMMIT');
    const evs = await waitOps('ddl', (ops) => ops.filter((o) => o !== 'r').length >= 3);
    const streamed = evs.filter((e) => e.event.op !== 'r');
    for (const e of evs) expect(mysqlSourceSchema.safeParse(e.event.source).success).toBe(true);
    const src = streamed.map((e) => e.event.source as Record<string, unknown>);
    expect(src[0]).toMatchObject({
      connector: 'mysql',
      snapshot: 'false',
      server_id: 1,
      db: 'sluice_test',
      schema: 'sluice_test',
      table: 'ddl',
    });
    expect(src[0]!.gtid).toMatch(/^0-1-\d+$/);
    expect(new Set(src.map((s) => s.gtid)).size).toBe(1);
    expect(src[0]!.file).toMatch(/^binlog\.\d+$/);
    expect(src.map((s) => s.row)).toEqual([0, 1, 0]);
    const tx = streamed.map((e) => e.event.transaction as { id: string; total_order: number });
    expect(tx.map((t) => t.total_order)).toEqual([1, 2, 3]);
    expect(tx[0]!.id).toBe(src[0]!.gtid);
    // Nats-Msg-Id: <source>:<gtid>:<index in the transaction>.
    expect(streamed.map((e) => e.msgId)).toEqual([0, 1, 2].map((i) => `my:${String(src[0]!.gtid)}:${i}`));
    const u = streamed[2]!.event as { before: Record<string, unknown>; after: Record<string, unknown> };
    expect(u.before).toEqual({ id: 2, a: 'two', b: 2 });
    expect(u.after).toEqual({ id: 2, a: 'two', b: 20 });
  });

  test('DDL while streaming: added, renamed and dropped columns are followed; TRUNCATE is t', async () => {
    await conn.query('ALTER TABLE sluice_test.ddl ADD COLUMN c varchar(5) DEFAULT NULL');
    await conn.query(`INSERT INTO sluice_test.ddl VALUES (10, 'ten', 10, 'cc')`);
    await conn.query('ALTER TABLE sluice_test.ddl RENAME COLUMN a TO aa');
    await conn.query(`INSERT INTO sluice_test.ddl VALUES (11, 'eleven', 11, 'dd')`);
    await conn.query('ALTER TABLE sluice_test.ddl DROP COLUMN b');
    await conn.query(`INSERT INTO sluice_test.ddl VALUES (12, 'twelve', 'ee')`);
    await conn.query('TRUNCATE TABLE sluice_test.ddl');
    await conn.query(`INSERT INTO sluice_test.ddl VALUES (13, 'thirteen', 'ff')`);
    const evs = await waitOps('ddl', (ops) => ops.includes('t') && ops.at(-1) === 'c' && ops.length >= 9);
    const tail = evs.slice(-5).map((e) => [e.event.op, e.event.after]);
    expect(tail).toEqual([
      ['c', { id: 10, a: 'ten', b: 10, c: 'cc' }],
      ['c', { id: 11, aa: 'eleven', b: 11, c: 'dd' }],
      ['c', { id: 12, aa: 'twelve', c: 'ee' }],
      ['t', null],
      ['c', { id: 13, aa: 'thirteen', c: 'ff' }],
    ]);
    expect(evs.at(-1)!.key).toEqual({ id: 13 });
  });

  test('preflight names the statement that fixes each setting', async () => {
    const cfg = parseConfig({
      nats: { servers: h.nats.url },
      sources: [
        { kind: 'mysql', name: 'pre', url: my.url(), tables: ['sluice_test.wide', 'sluice_test.nope'] },
      ],
    });
    const adapter = await createSourceAdapter(cfg.sources[0]!, quietLog);
    try {
      expect((await adapter.preflight()).problems).toEqual([
        'table sluice_test.nope does not exist (or matches nothing)',
      ]);
      await conn.query(
        `SET GLOBAL binlog_format = 'MIXED', GLOBAL binlog_row_image = 'MINIMAL', GLOBAL binlog_row_metadata = 'MINIMAL'`,
      );
      const report = await adapter.preflight();
      expect(report.ok).toBe(false);
      expect(report.problems.join('\n')).toMatch(/SET GLOBAL binlog_format = 'ROW'/);
      expect(report.problems.join('\n')).toMatch(/SET GLOBAL binlog_row_image = 'FULL'/);
      expect(report.problems.join('\n')).toMatch(/SET GLOBAL binlog_row_metadata = 'FULL'/);
    } finally {
      await conn.query(
        `SET GLOBAL binlog_format = 'ROW', GLOBAL binlog_row_image = 'FULL', GLOBAL binlog_row_metadata = 'FULL'`,
      );
      await adapter.close();
    }
  });

  test('a second reader with the same server_id stops the first with an error that says so', async () => {
    const mk = async (name: string) =>
      createSourceAdapter(
        parseConfig({
          nats: { servers: h.nats.url },
          sources: [{ kind: 'mysql', name, url: my.url(), tables: ['sluice_test.ddl'], serverId: 4242 }],
        }).sources[0]!,
        quietLog,
      );
    const run = async (name: string) => {
      const adapter = await mk(name);
      const ac = new AbortController();
      const done = (async () => {
        for await (const _batch of adapter.stream({ signal: ac.signal, log: quietLog }, null)) {
          // drain
        }
      })().then(
        () => null,
        (err: unknown) => err as { code?: string; message: string },
      );
      return { adapter, ac, done };
    };
    const dumps = async () =>
      ((await conn.query('SHOW PROCESSLIST'))[0] as { Command: string }[]).filter(
        (p) => p.Command === 'Binlog Dump',
      ).length;
    // The runtime of the other tests reads the binlog too: wait for one more dump thread.
    const before = await dumps();
    const first = await run('clash-a');
    await waitFor(async () => (await dumps()) > before, 'the first reader', 10_000);
    const second = await run('clash-b');
    const err = await first.done;
    second.ac.abort();
    await second.done;
    await first.adapter.close();
    await second.adapter.close();
    expect(err?.code).toBe('MYSQL_SERVER_ID_CLASH');
    expect(err?.message).toMatch(/set serverId/);
  });

  test('heartbeats keep a quiet binlog alive; without them a silent connection is noticed', async () => {
    const stream = async (extra: Record<string, unknown>, holdMs: number) => {
      const adapter = await createSourceAdapter(
        parseConfig({
          nats: { servers: h.nats.url },
          sources: [{ kind: 'mysql', name: 'beat', url: my.url(), tables: ['sluice_test.ddl'], ...extra }],
        }).sources[0]!,
        quietLog,
      );
      const ac = new AbortController();
      const hold = setTimeout(() => ac.abort(), holdMs);
      try {
        for await (const _batch of adapter.stream({ signal: ac.signal, log: quietLog }, null)) {
          // drain
        }
        return null;
      } catch (err) {
        return err as { code?: string; message: string };
      } finally {
        clearTimeout(hold);
        await adapter.close();
      }
    };
    // Nothing is written for 3 s, three times the socket timeout: heartbeats arrive every 200 ms.
    expect(await stream({ heartbeatInterval: '200ms', socketTimeout: '1s' }, 3000)).toBeNull();
    const err = await stream({ heartbeatInterval: 0, socketTimeout: '1s' }, 10_000);
    expect(err?.code).toBe('SOURCE_UNAVAILABLE');
    expect(err?.message).toMatch(/delivered nothing/);
  });
});

async function waitOps(table: string, pred: (ops: string[]) => boolean) {
  let evs = await h.events('my');
  for (let i = 0; i < 300; i++) {
    evs = (await h.events('my')).filter((e) => e.subject.includes(`.${table}.`));
    if (pred(evs.map((e) => String(e.event.op)))) return evs;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out: ${evs.map((e) => e.event.op).join('')}`);
}
