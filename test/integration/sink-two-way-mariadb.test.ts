// Two-way PostgreSQL ↔ MariaDB without loops: the PostgreSQL database (source `erp`) is applied
// to MariaDB by sink `toMaria`, MariaDB (source `maria`, binlog) back to PostgreSQL by sink `toPg`,
// both with twoWay on. toPg marks its writes with PostgreSQL's replication origin; toMaria, on a
// target without origins, writes a sluice_sink_marker row first in each transaction, which the
// binlog source recognises and tags the transaction's rows with. Writers change both sides: every
// write arrives on the other side once and never comes back.
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { mysqlDialect } from '../../src/sql/mysql/mysql-dialect.js';
import { Harness } from '../support/harness.js';
import { mariadbMissing, TestMariaDB } from '../support/mariadb-server.js';
import { waitFor } from '../support/ports.js';

let h: Harness;
let maria: TestMariaDB;
let my: Knex;
let rt: Runtime | null = null;

beforeAll(async () => {
  if (mariadbMissing) return;
  h = await Harness.start();
  maria = await TestMariaDB.start();
  my = knexFactory(await mysqlDialect.knexConfig(maria.url()));
  await h.pg.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, side text)');
  await my.raw('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, side varchar(20))');
}, 120_000);

afterAll(async () => {
  await rt?.stop();
  await my?.destroy();
  await maria?.stop();
  await h?.stop();
});

async function writePg(from: number, n: number): Promise<void> {
  const c = new pg.Client({ connectionString: h.pg.url() });
  await c.connect();
  try {
    for (let i = 0; i < n; i++) {
      await c.query('INSERT INTO items VALUES ($1, $2, $3)', [from + i, i, 'pg']);
      if (i % 3 === 0) await c.query('UPDATE items SET v = v + 1000 WHERE id = $1', [from + i]);
    }
  } finally {
    await c.end();
  }
}

async function writeMaria(from: number, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await my.raw('INSERT INTO items VALUES (?, ?, ?)', [from + i, i, 'maria']);
    if (i % 3 === 0) await my.raw('UPDATE items SET v = v + 1000 WHERE id = ?', [from + i]);
  }
}

type Row = { id: number; v: number; side: string };
const pgRows = () => h.pg.query<Row>('SELECT id, v, side FROM items ORDER BY id');
const myRows = async () =>
  ((await my('items').select('id', 'v', 'side').orderBy('id')) as Row[]).map((r) => ({
    id: Number(r.id),
    v: Number(r.v),
    side: r.side,
  }));

async function origins(source: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const e of await h.events(source)) {
    const o = (e.event.origin as string | undefined) ?? 'own';
    out[o] = (out[o] ?? 0) + 1;
  }
  return out;
}

test.skipIf(mariadbMissing !== undefined)(
  `writes on both sides arrive on the other side once and never come back${mariadbMissing ? ` (${mariadbMissing})` : ''}`,
  { timeout: 180_000 },
  async () => {
    const config = parseConfig({
      nats: { servers: h.nats.url, commitInterval: '50ms', leaseTtl: '2s' },
      sources: [
        { kind: 'postgres', name: 'erp', url: h.pg.url(), tables: ['public.items'], heartbeatInterval: '1s' },
        {
          kind: 'mysql',
          name: 'maria',
          url: maria.url(),
          tables: ['sluice_test.items'],
          heartbeatInterval: '1s',
        },
      ],
      sinks: [
        { name: 'toMaria', url: maria.url(), from: 'erp', twoWay: true },
        { name: 'toPg', url: h.pg.url(), from: 'maria', twoWay: true, conflicts: 'targetWins' },
      ],
      log: { level: 'warn' },
    });
    rt = await h.runInProcess(config);
    await h.waitStreaming(rt);
    await Promise.all([writePg(1, 200), writeMaria(100_001, 200)]);
    const own = 267; // 200 inserts and 67 updates on each side
    await waitFor(
      async () => {
        const [a, b] = await Promise.all([pgRows(), myRows()]);
        return a.length === 400 && JSON.stringify(a) === JSON.stringify(b);
      },
      'both databases equal',
      90_000,
      200,
    );
    const [erp, mar] = await waitFor(
      async () => {
        const both = await Promise.all([origins('erp'), origins('maria')]);
        return both[0].toPg !== undefined && both[1].toMaria !== undefined ? both : null;
      },
      'tagged echoes in the stream',
      30_000,
      200,
    );
    // Each side's own writes once, untagged; the other side's, tagged with the sink that wrote them
    // (at most once each: a batch may fold an insert and its update into one upsert).
    expect(erp.own).toBe(own);
    expect(mar.own).toBe(own);
    expect(erp.toPg).toBeGreaterThanOrEqual(200);
    expect(erp.toPg).toBeLessThanOrEqual(own);
    expect(mar.toMaria).toBeGreaterThanOrEqual(200);
    expect(mar.toMaria).toBeLessThanOrEqual(own);
    expect(Object.keys(mar).sort()).toEqual(['own', 'toMaria']); // the marker table is never published
    // Nothing comes back: a write on the PostgreSQL side reaches MariaDB, its tagged echo is
    // skipped by toPg, and a later write shows the stream grew by exactly those events.
    await h.pg.query('INSERT INTO items VALUES (-1, -1, $1)', ['probe']);
    await waitFor(async () => (await myRows()).some((r) => r.id === -1), 'probe in MariaDB', 30_000);
    await waitFor(
      async () => (await h.events('maria')).some((e) => (e.event.after as Row | null)?.id === -1),
      'probe echo in the stream',
      30_000,
    );
    const lastMaria = Math.max(...(await h.events('maria')).map((e) => e.seq));
    await waitFor(
      async () =>
        Number(
          (await h.pg.query(`SELECT stream_seq FROM sluice_sink_position WHERE sink = 'toPg'`))[0]
            ?.stream_seq,
        ) >= lastMaria,
      'toPg past the echo',
      30_000,
    );
    await my.raw('INSERT INTO items VALUES (-2, -2, ?)', ['probe']);
    await waitFor(
      async () => (await pgRows()).some((r) => r.id === -2),
      'second probe in PostgreSQL',
      30_000,
    );
    await waitFor(
      async () => (await h.events('erp')).some((e) => (e.event.after as Row | null)?.id === -2),
      'second probe echo in the stream',
      30_000,
    );
    const [erpAfter, marAfter] = await Promise.all([origins('erp'), origins('maria')]);
    expect(erpAfter).toEqual({ ...erp, own: own + 1, toPg: erp.toPg! + 1 });
    expect(marAfter).toEqual({ ...mar, own: own + 1, toMaria: mar.toMaria! + 1 });
    const [a, b] = await Promise.all([pgRows(), myRows()]);
    expect(a).toEqual(b);
  },
);
