// One table of every common type must produce the SAME `after` image through every source of its
// database (README "Change events"): postgres, polling and triggers on PostgreSQL; polling,
// triggers and the binlog (mysql) on MariaDB; polling and triggers on SQLite; compared value by
// value for an insert, an update and a row of NULLs. The writers' sessions use another time zone (and on PostgreSQL bytea_output=escape) than
// Sluice's, so no value may depend on the writing session.
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { migrateSource } from '../../adapters/triggers/triggers-migrate.js';
import { parseConfig } from '../../src/config/load.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { Harness, quietLog } from '../support/harness.js';
import { skipReason, startDb, type Db } from '../contract/contract-targets.js';

let h: Harness;
let my: Db | null = null;
let lite: Db;
let rt: Runtime;

const PG_TABLE = `CREATE TABLE public.typed (
  id int PRIMARY KEY, n1 numeric(11,2), n2 numeric(40,10), big int8, sm int8, m money,
  ts timestamp(6), tstz timestamptz(6), d date, t time(6), b bytea, j jsonb, c char(5), nul text, u text)`;
const PG_ROWS = [
  `INSERT INTO public.typed VALUES (1, 835.60, 12345678901234567890.1234567890, 9007199254740993, 42, 835.60,
    '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456+05', '2024-02-29', '13:14:15.123456',
    '\\x00ff10', '{"a": [1, 2.5, "x"], "n": 1.50}', 'AB', NULL, 'Grüße ✓ 日本 🎉')`,
  `UPDATE public.typed SET n1 = -166.00, big = -9007199254740993, m = -166.00, tstz = '1999-12-31 23:00:00.000001-01', b = '\\x5c27', c = 'xyz' WHERE id = 1`,
  `INSERT INTO public.typed (id) VALUES (2)`,
];

const MY_TABLE = `CREATE TABLE sluice_test.typed (
  id int PRIMARY KEY, n1 decimal(11,2), n2 decimal(40,10), big bigint, sm bigint,
  ts datetime(6), tstz timestamp(6) NULL, d date, t time(6), b varbinary(10), c char(5), nul text, u text, j json, fl double) DEFAULT CHARSET=utf8mb4`;
const MY_ROWS = [
  `INSERT INTO sluice_test.typed VALUES (1, 835.60, 12345678901234567890.1234567890, 9007199254740993, 42,
    '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59.123456', '2024-02-29', '13:14:15.123456',
    x'00ff10', 'AB', NULL, 'Grüße ✓ 日本 🎉', '{"a": [1, 2.5, "x"], "n": 1.50}', 2.5)`,
  `UPDATE sluice_test.typed SET n1 = -166.00, big = -9007199254740993, tstz = '1999-12-31 23:00:00.000001', b = x'5c27', c = 'xyz' WHERE id = 1`,
  `INSERT INTO sluice_test.typed (id) VALUES (2)`,
];

const LITE_TABLE = `CREATE TABLE typed (id integer PRIMARY KEY, n1 numeric(11,2), big integer, fl real, ts text, c char(5), nul text, u text, b blob)`;
const LITE_ROWS = [
  `INSERT INTO typed VALUES (1, 835.60, 9007199254740993, 2.5, '2024-02-29T23:59:59.123456', 'AB   ', NULL, 'Grüße ✓ 日本 🎉', x'00ff10')`,
  `UPDATE typed SET n1 = -166.00, big = -9007199254740993, c = 'xyz', b = x'deadbeef' WHERE id = 1`,
  `INSERT INTO typed (id) VALUES (2)`,
];

function source(name: string, kind: string, url: string, table: string): Record<string, unknown> {
  const common = { name, url, tables: [table] };
  if (kind === 'postgres') return { ...common, kind, heartbeatInterval: '1s', slotBusyTimeout: '20s' };
  if (kind === 'mysql') return { ...common, kind, heartbeatInterval: '1s' };
  const polled = {
    ...common,
    kind,
    pollInterval: '50ms',
    lookBack: '100ms',
    ...(kind === 'polling' ? { stateDir: h.dir } : {}),
  };
  return kind === 'triggers' ? { ...polled, changelog: `sluice_cl_${name.replace(/-/g, '_')}` } : polled;
}

const sources: { name: string; kind: string; db: 'pg' | 'my' | 'lite'; table: string }[] = [
  { name: 'pg-postgres', kind: 'postgres', db: 'pg', table: 'public.typed' },
  { name: 'pg-polling', kind: 'polling', db: 'pg', table: 'public.typed' },
  { name: 'pg-triggers', kind: 'triggers', db: 'pg', table: 'public.typed' },
  { name: 'my-polling', kind: 'polling', db: 'my', table: 'sluice_test.typed' },
  { name: 'my-triggers', kind: 'triggers', db: 'my', table: 'sluice_test.typed' },
  { name: 'my-mysql', kind: 'mysql', db: 'my', table: 'sluice_test.typed' },
  { name: 'lite-polling', kind: 'polling', db: 'lite', table: 'main.typed' },
  { name: 'lite-triggers', kind: 'triggers', db: 'lite', table: 'main.typed' },
];

beforeAll(async () => {
  h = await Harness.start();
  if (!skipReason('mariadb')) my = await startDb('mariadb');
  lite = await startDb('sqlite');
  await h.pg.query(PG_TABLE);
  await my?.knex.raw(MY_TABLE);
  await lite.knex.raw(LITE_TABLE);
  const url = { pg: h.pg.url(), my: my?.url ?? '', lite: lite.url };
  const raw = {
    nats: { servers: h.nats.url, commitInterval: '50ms', leaseTtl: '2s' },
    sources: sources
      .filter((s) => s.db !== 'my' || my)
      .map((s) => source(s.name, s.kind, url[s.db], s.table)),
    log: { level: 'warn' },
  };
  const cfg = parseConfig(raw);
  for (const s of cfg.sources) if (s.kind === 'triggers') await migrateSource(s, quietLog, false);
  rt = await h.runInProcess(cfg);
  await h.waitStreaming(rt);
  // The application's sessions: another time zone than Sluice's, PostgreSQL bytea in escape format.
  const pgc = await h.pg.client();
  await pgc.query(`SET TimeZone = 'Asia/Kolkata'; SET bytea_output = 'escape'`);
  const myc = my ? await mysql.createConnection(my.url) : null;
  await myc?.query(`SET time_zone = '+05:30'`);
  // One statement at a time, each seen by every polling source before the next (diff mode sees
  // the table's state at each poll: an insert then an update between two polls would be one c).
  for (let i = 0; i < 3; i++) {
    await pgc.query(PG_ROWS[i]!);
    await myc?.query(MY_ROWS[i]!);
    await lite.knex.raw(LITE_ROWS[i]!);
    for (const s of sources.filter((x) => x.db !== 'my' || my)) await h.waitForEvents(s.name, i + 1, 60_000);
  }
  await pgc.end();
  await myc?.end();
}, 300_000);

afterAll(async () => {
  await rt?.stop();
  await my?.stop();
  await lite?.stop();
  await h?.stop();
});

async function images(name: string): Promise<{ op: string; after: Record<string, unknown> | null }[]> {
  const events = await h.events(name);
  return events.map((e) => {
    const ev = e.event as { op: string; after: Record<string, unknown> | null };
    return { op: ev.op, after: ev.after };
  });
}

describe.each([
  ['PostgreSQL', 'pg-postgres', ['pg-polling', 'pg-triggers']],
  ['MariaDB', 'my-polling', ['my-triggers', 'my-mysql']],
  ['SQLite', 'lite-polling', ['lite-triggers']],
] as const)('%s: the same after image through every source', (dbName, reference, others) => {
  test.skipIf(dbName === 'MariaDB' && skipReason('mariadb'))(
    `${others.join(', ')} equal ${reference}`,
    async () => {
      const want = await images(reference);
      expect(want.map((e) => e.op)).toEqual(['c', 'u', 'c']);
      const differ: string[] = [];
      for (const other of others) {
        const got = await images(other);
        expect(
          got.map((e) => e.op),
          other,
        ).toEqual(['c', 'u', 'c']);
        for (let i = 0; i < want.length; i++) {
          expect(Object.keys(got[i]!.after!).sort(), other).toEqual(Object.keys(want[i]!.after!).sort());
          for (const col of Object.keys(want[i]!.after!)) {
            const [a, b] = [got[i]!.after![col], want[i]!.after![col]];
            if (JSON.stringify(a) !== JSON.stringify(b))
              differ.push(`${other} event ${i + 1} ${col}: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
          }
        }
      }
      expect(differ).toEqual([]);
    },
  );
});

test('PostgreSQL: the values are the README’s', async () => {
  const [c, u, n] = await images('pg-postgres');
  expect(c!.after).toStrictEqual({
    id: 1,
    n1: '835.60',
    n2: '12345678901234567890.1234567890',
    big: '9007199254740993',
    sm: 42,
    m: '835.60',
    ts: '2024-02-29T23:59:59.123456',
    tstz: '2024-02-29T18:59:59.123456Z',
    d: '2024-02-29',
    t: '13:14:15.123456',
    b: Buffer.from([0x00, 0xff, 0x10]).toString('base64'),
    j: { a: [1, 2.5, 'x'], n: 1.5 },
    c: 'AB   ',
    nul: null,
    u: 'Grüße ✓ 日本 🎉',
  });
  expect(u!.after).toMatchObject({
    n1: '-166.00',
    big: '-9007199254740993',
    m: '-166.00',
    tstz: '2000-01-01T00:00:00.000001Z',
    b: Buffer.from("\\'").toString('base64'),
    c: 'xyz  ',
  });
  expect(Object.values(n!.after!).filter((v) => v !== null)).toEqual([2]);
});

test.skipIf(skipReason('mariadb'))(
  'MariaDB: json parsed, decimals exact, 64-bit integers per the README',
  async () => {
    const [c] = await images('my-polling');
    expect(c!.after).toMatchObject({
      n1: '835.60',
      n2: '12345678901234567890.1234567890',
      big: '9007199254740993',
      sm: 42,
      j: { a: [1, 2.5, 'x'], n: 1.5 },
      fl: 2.5,
    });
  },
);
