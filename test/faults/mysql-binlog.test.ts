// Faults for `kind: mysql` (MariaDB binlog): sluice SIGKILLed under a concurrent writer (held-open
// transactions, rollbacks, deletes), the snapshot killed mid-table, MariaDB restarted mid-stream,
// and a binlog purged (or a server rewound) behind the source's back → OFFSET_LOST. Every case
// compares the replayed stream with the tables, value for value.
import type { ChildProcess } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import knexFactory, { type Knex } from 'knex';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { OffsetLostError } from '../../src/core/errors.js';
import type { MysqlOffset } from '../../adapters/mysql/mysql-offset.js';
import type { AnySourceAdapter } from '../../src/core/source-adapter.js';
import { createSourceAdapter } from '../../src/pipeline/adapters.js';
import { mysqlDialect } from '../../src/sql/mysql/mysql-dialect.js';
import { normalizeRow } from '../../src/sql/sql-values.js';
import { Harness, quietLog } from '../support/harness.js';
import { mariadbMissing, TestMariaDB } from '../support/mariadb-server.js';
import { waitFor } from '../support/ports.js';
import { toVerifiedEvent, verifyStream, type VerifyReport } from '../support/stream-verifier.js';
import { exited } from './fault-support.js';

const skip = mariadbMissing;
let h: Harness;
let my: TestMariaDB;
let knex: Knex;
let child: ChildProcess | null = null;

const DB = 'sluice_test';

async function tableStates(tables: string[]) {
  const db = new Map<string, { key: string[]; rows: Record<string, unknown>[] }>();
  for (const t of tables) {
    const rows = (await knex(t).select('*').orderBy('id')) as Record<string, unknown>[];
    db.set(t, { key: ['id'], rows: rows.map(normalizeRow) });
  }
  return db;
}

async function verify(
  source: string,
  tables: string[],
): Promise<VerifyReport & { streamed: number; reads: number }> {
  const evs = (await h.events(source)).filter((e) => tables.some((t) => e.subject.includes(`.${t}.`)));
  const events = evs.map((e) => ({ ...toVerifiedEvent(e.event, e.key), lsn: e.msgId }));
  const report = verifyStream(events, await tableStates(tables), new Set(tables));
  return {
    ...report,
    streamed: events.filter((e) => !e.snapshot).length,
    reads: events.filter((e) => e.snapshot).length,
  };
}

function rawConfig(name: string, tables: string[], extra: Record<string, unknown> = {}) {
  return {
    nats: { servers: h.nats.url, commitInterval: '100ms', leaseTtl: '1s' },
    sources: [
      { kind: 'mysql', name, url: my.url(), tables, heartbeatInterval: '1s', socketTimeout: '10s', ...extra },
    ],
    log: { level: 'warn' },
  };
}

async function waitMarker(source: string, id: number): Promise<void> {
  await knex(`${DB}.marker`).insert({ id });
  await waitFor(
    async () => {
      if (child && child.exitCode !== null) throw new Error(`sluice exited with ${child.exitCode}`);
      return (await h.events(source)).some(
        (e) => e.subject.includes('.marker.') && (e.event.after as { id?: number } | null)?.id === id,
      );
    },
    `marker ${id} of ${source}`,
    60_000,
    200,
  );
}

/**
 * Three sessions write until stopped: autocommit inserts, updates, deletes (and with `rekey`, key
 * changes); transactions held
 * open across other sessions' commits; transactions rolled back. `changes` counts rows changed by
 * committed statements (what the binlog must carry).
 */
function startWriter(table: string, rows: number, tolerateErrors = false, rekey = false) {
  let stop = false;
  let changes = 0;
  let failures = 0;
  const loop = async (body: (c: mysql.Connection, i: number) => Promise<number>) => {
    let c = await mysql.createConnection(my.url());
    for (let i = 1; !stop; i++) {
      try {
        const n = await body(c, i);
        changes += n;
      } catch (err) {
        if (!tolerateErrors) throw err;
        failures++;
        await c.end().catch(() => {});
        await new Promise((r) => setTimeout(r, 200));
        c = await mysql.createConnection(my.url()).catch(() => c);
      }
    }
    await c.end().catch(() => {});
  };
  const affected = (r: unknown) => (r as [{ affectedRows: number }])[0].affectedRows;
  let next = 1_000_000;
  const loops = Promise.all([
    loop(async (c, i) => {
      const id = 1 + ((i * 7919) % rows);
      // Key changes: a seed row moved to the end of the key order, an inserted row to its start.
      if (rekey && i % 5 === 3)
        return affected(await c.query(`UPDATE ${table} SET id = ? WHERE id = ?`, [next++, id]));
      if (rekey && i % 5 === 4) {
        const high = 1_000_000 + ((i * 31) % Math.max(1, next - 1_000_000));
        return affected(await c.query(`UPDATE ${table} SET id = id - 2000000 WHERE id = ?`, [high]));
      }
      if (i % 3 === 0) return affected(await c.query(`INSERT INTO ${table} VALUES (?, 0, 'new')`, [next++]));
      if (i % 3 === 1) return affected(await c.query(`UPDATE ${table} SET v = v + 1 WHERE id = ?`, [id]));
      return affected(await c.query(`DELETE FROM ${table} WHERE id = ?`, [id]));
    }),
    loop(async (c, i) => {
      await c.query('BEGIN');
      let n = affected(
        await c.query(`UPDATE ${table} SET v = v + 10, note = 'held' WHERE id IN (?, ?)`, [
          1 + ((i * 104729) % rows),
          2 + ((i * 31) % rows),
        ]),
      );
      n += affected(await c.query(`INSERT INTO ${table} VALUES (?, ?, 'held')`, [next++, i]));
      // Held open while the other sessions commit (a deliberate hold, not a wait for an outcome).
      await new Promise((r) => setTimeout(r, 150));
      await c.query('COMMIT');
      return n;
    }),
    loop(async (c, i) => {
      await c.query('BEGIN');
      await c.query(`INSERT INTO ${table} VALUES (?, -5, 'rolled back')`, [-1_000_000 - i]);
      await c.query(`UPDATE ${table} SET v = -999 WHERE id = ?`, [1 + ((i * 13) % rows)]);
      await c.query('ROLLBACK');
      await new Promise((r) => setTimeout(r, 20));
      return 0;
    }),
  ]);
  return {
    get changes() {
      return changes;
    },
    get failures() {
      return failures;
    },
    async stop() {
      stop = true;
      await loops;
    },
  };
}

async function makeTable(name: string, rows: number): Promise<string> {
  const t = `${DB}.${name}`;
  await knex.raw(`CREATE TABLE ${t} (id int PRIMARY KEY, v int NOT NULL, note varchar(40)) ENGINE=InnoDB`);
  for (let from = 1; from <= rows; from += 1000)
    await knex(t).insert(
      Array.from({ length: Math.min(1000, rows - from + 1) }, (_, i) => ({
        id: from + i,
        v: 0,
        note: 'seed',
      })),
    );
  return t;
}

describe.skipIf(skip)(`mysql binlog faults${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(async () => {
    [h, my] = await Promise.all([Harness.start(), TestMariaDB.start()]);
    knex = knexFactory(await mysqlDialect.sourceKnexConfig(my.url()));
    await knex.raw(`CREATE TABLE ${DB}.marker (id int PRIMARY KEY)`);
  }, 120_000);

  afterAll(async () => {
    child?.kill('SIGKILL');
    await knex?.destroy();
    await my?.stop();
    await h?.stop();
  });

  test(
    'SIGKILL under a concurrent writer (held-open transactions, rollbacks, deletes): nothing lost, nothing twice',
    { timeout: 120_000 },
    async () => {
      const t = await makeTable('acct', 2000);
      const file = await h.writeConfig(rawConfig('kill', [t, `${DB}.marker`], { snapshotChunkSize: 200 }));
      child = h.spawnSluice(file);
      await waitMarker('kill', 1);
      const writer = startWriter(t, 2000);
      let kills = 0;
      while (kills < 6) {
        await new Promise((r) => setTimeout(r, 400 + Math.random() * 1200));
        child.kill('SIGKILL');
        await exited(child);
        kills++;
        child = h.spawnSluice(file);
      }
      await writer.stop();
      await waitMarker('kill', 2);
      child.kill('SIGTERM');
      await exited(child);
      const r = await verify('kill', [t]);
      console.log(
        `mysql sigkill x${kills}: changes made ${writer.changes}, received ${r.streamed}, lost ${r.lost}, duplicated ${r.duplicates}`,
      );
      expect(r.examples).toEqual([]);
      expect(r.duplicates).toBe(0);
      expect(r.lost).toBe(0);
      expect(r.reads).toBe(2000);
      expect(r.streamed).toBe(writer.changes);
      expect(writer.changes).toBeGreaterThan(200);
    },
  );

  test(
    'a snapshot killed mid-table resumes by key range while its rows keep changing',
    { timeout: 120_000 },
    async () => {
      const t = await makeTable('snap', 20000);
      const file = await h.writeConfig(rawConfig('snap', [t, `${DB}.marker`], { snapshotChunkSize: 250 }));
      const jsm = await jetstreamManager(await h.natsConnection());
      const count = async () => {
        const info = await jsm.streams.info('SLUICE', { subjects_filter: 'sluice.snap.>' }).catch(() => null);
        return Object.values(info?.state.subjects ?? {}).reduce((a, b) => a + b, 0);
      };
      const committed = async () => {
        const m = await jsm.streams
          .getMessage('KV_sluice_offsets', { last_by_subj: '$KV.sluice_offsets.offset.snap' })
          .catch(() => null);
        return m ? (JSON.parse(m.json<{ offset: string }>().offset) as MysqlOffset) : null;
      };
      const until = async (what: string, ok: () => Promise<boolean>) =>
        waitFor(
          async () => {
            if (child && child.exitCode !== null) throw new Error(`sluice exited with ${child.exitCode}`);
            return ok();
          },
          what,
          60_000,
          25,
        );
      const writer = startWriter(t, 20000, false, true);
      // 1: killed part-way through the consistent snapshot.
      child = h.spawnSluice(file);
      await until('3000 snapshot rows', async () => (await count()) >= 3000);
      child.kill('SIGKILL');
      await exited(child);
      // 2: killed once it has committed its resume point (the ranges it is about to read) and read
      // some rows, so the next process resumes a resumed snapshot: two views' ranges over one table.
      child = h.spawnSluice(file);
      await until('the resume checkpoint', async () => !!(await committed())?.resumed);
      const resumedAt = await count();
      await until('rows read by the resumed snapshot', async () => (await count()) >= resumedAt + 1000);
      child.kill('SIGKILL');
      await exited(child);
      const twice = await committed();
      expect(twice?.snapshot, 'the second process finished the snapshot before its kill').toBeDefined();
      expect(twice?.resumed?.length).toBeGreaterThan(0);
      // 3: resumes again and streams; the writer runs on until the snapshot is done, so changes to
      // every range are streamed (or skipped) both before and after the ranges' points.
      child = h.spawnSluice(file);
      await until('the snapshot finished', async () => {
        const o = await committed();
        return !!o && !o.snapshot;
      });
      await writer.stop();
      // Inserted after the last view was opened, so it arrives through the binlog, after every change.
      await waitMarker('snap', 3);
      child.kill('SIGTERM');
      await exited(child);
      child = null;
      const r = await verify('snap', [t]);
      console.log(
        `mysql snapshot resume: ${r.reads} reads, ${r.streamed} changes, lost ${r.lost}, duplicated ${r.duplicates}`,
      );
      expect(r.examples).toEqual([]);
      expect(r.duplicates).toBe(0);
      expect(r.lost).toBe(0);
      expect(r.streamed).toBeGreaterThan(0);
    },
  );

  test(
    'MariaDB restarted mid-stream: the source reconnects and the stream still equals the table',
    { timeout: 120_000 },
    async () => {
      const t = await makeTable('restart', 500);
      const rt = await h.runInProcess(parseConfig(rawConfig('restart', [t, `${DB}.marker`])));
      try {
        await h.waitStreaming(rt);
        const writer = startWriter(t, 500, true);
        await waitFor(async () => writer.changes > 100, 'writes before the restart', 30_000);
        await knex.destroy();
        await my.restart('SIGTERM');
        knex = knexFactory(await mysqlDialect.sourceKnexConfig(my.url()));
        const before = writer.changes;
        await waitFor(async () => writer.changes > before + 100, 'writes after the restart', 60_000);
        await writer.stop();
        await waitMarker('restart', 4);
      } finally {
        await rt.stop();
      }
      const r = await verify('restart', [t]);
      console.log(`mysql server restart: ${r.streamed} changes, lost ${r.lost}, duplicated ${r.duplicates}`);
      expect(r.examples).toEqual([]);
      expect(r.duplicates).toBe(0);
      expect(r.lost).toBe(0);
    },
  );

  test(
    'a purged binlog, a rewound GTID position or a shorter binlog file stop with OFFSET_LOST naming the re-snapshot',
    { timeout: 60_000 },
    async () => {
      const t = await makeTable('purge', 10);
      const cfg = parseConfig({
        nats: { servers: h.nats.url },
        sources: [{ kind: 'mysql', name: 'purge', url: my.url(), tables: [t], snapshot: 'never' }],
      });
      const adapter: AnySourceAdapter = await createSourceAdapter(cfg.sources[0]!, quietLog);
      const first = async (from: unknown): Promise<{ gtid?: string } | null> => {
        const ac = new AbortController();
        try {
          for await (const b of adapter.stream({ signal: ac.signal, log: quietLog }, from))
            if (b.offset) return b.offset;
        } finally {
          ac.abort();
          await adapter.close();
        }
        return null;
      };
      // The committed offset of a source that streamed up to here.
      await knex(t).insert({ id: 100, v: 1, note: 'x' });
      const [status] = (await knex.raw('SHOW MASTER STATUS'))[0] as { File: string; Position: number }[];
      const [g] = (await knex.raw('SELECT @@gtid_binlog_pos AS g'))[0] as { g: string }[];
      const offset = { file: status!.File, pos: Number(status!.Position), gtid: g!.g, serverId: 1 };
      // It resumes.
      await knex(t).insert({ id: 99, v: 1, note: 'after' });
      const ok = await first(offset);
      expect(ok?.gtid).toMatch(/^0-1-\d+$/);
      expect(offset.gtid).toMatch(/^0-1-\d+$/);
      const lost = async (from: unknown) => {
        const err = await first(from).then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, JSON.stringify(from)).toBeInstanceOf(OffsetLostError);
        expect((err as Error).message).toContain('nats kv del sluice_offsets offset.purge');
        return (err as Error).message;
      };
      // A rewound or restored server: the offset is ahead of the server's binlog.
      expect(await lost({ ...offset, gtid: '0-1-999999' })).toMatch(/rewound|restored/);
      expect(await lost({ ...offset, gtid: undefined, pos: 999_999_999 })).toMatch(/bytes long/);
      // The binlog after the offset is purged.
      await knex(t).insert({ id: 101, v: 1, note: 'y' });
      await knex.raw('FLUSH BINARY LOGS');
      await knex.raw('FLUSH BINARY LOGS');
      const logs = (await knex.raw('SHOW BINARY LOGS'))[0] as { Log_name: string }[];
      // The server keeps a file a dump thread (or crash recovery) still uses: purge until it is gone.
      await waitFor(
        async () => {
          await knex.raw(`PURGE BINARY LOGS TO '${logs[logs.length - 1]!.Log_name}'`);
          const left = (await knex.raw('SHOW BINARY LOGS'))[0] as { Log_name: string }[];
          return !left.some((l) => l.Log_name === offset.file);
        },
        `${offset.file} purged`,
        20_000,
        200,
      );
      expect(await lost(offset)).toMatch(/purged/);
      expect(await lost({ ...offset, gtid: undefined })).toMatch(/purged/);
    },
  );
});
