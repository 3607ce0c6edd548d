// Issue 10 item 3, end to end: a polling diff source over four tables, written to concurrently
// (updates, delete + re-insert of the same id, inserts, deletes: the shape of sysbench's OLTP
// write-only mix), with `sluice run` SIGKILLed once in its first pass and three times in later
// passes. Once the writers stop and the source catches up, the stream replayed per key equals every
// table value for value: no table is left with rows stuck at an older value.
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDatabase, type ApiDatabase } from '../../src/sql/database.js';
import { toVerifiedEvent, verifyStream, type VerifyReport } from '../support/stream-verifier.js';
import { Harness } from '../support/harness.js';
import { mariadbMissing, TestMariaDB } from '../support/mariadb-server.js';
import { waitFor } from '../support/ports.js';

const TABLES = 4;
const ROWS = 1000;
const WRITERS = 4;

let h: Harness;

beforeAll(async () => {
  h = await Harness.start();
});
afterAll(async () => {
  await h?.stop();
});

/** sysbench-like transactions on random rows of random tables until `stop.done`. */
async function writer(knex: Knex, tables: string[], stop: { done: boolean }, counts: { tx: number }) {
  const rnd = (n: number) => Math.floor(Math.random() * n);
  let next = ROWS * 10 + rnd(1_000_000) * 100;
  while (!stop.done) {
    const t = tables[rnd(tables.length)]!;
    const id = 1 + rnd(ROWS);
    const tx = knex.transaction(async (trx) => {
      await trx(t)
        .where({ id })
        .update({ k: trx.raw('k + 1') });
      await trx(t)
        .where({ id: 1 + rnd(ROWS) })
        .update({ c: randomBytes(12).toString('hex') });
      const moved = 1 + rnd(ROWS);
      await trx(t).where({ id: moved }).delete();
      await trx(t).insert({ id: moved, k: rnd(1000), c: randomBytes(12).toString('hex') });
      // Now and then a row that comes or goes for good.
      if (rnd(10) === 0) await trx(t).insert({ id: next++, k: 0, c: 'new' });
      if (rnd(10) === 0)
        await trx(t)
          .where({ id: 1 + rnd(ROWS) })
          .delete();
    });
    // Two transactions moving the same row collide as they do under sysbench (duplicate key,
    // deadlock): that transaction rolls back and the next one goes on.
    try {
      await tx;
      counts.tx++;
    } catch (err) {
      if (!retryable(err)) throw err;
    }
  }
}

/** Duplicate key, deadlock or serialization failure (PostgreSQL SQLSTATE, MariaDB error number). */
function retryable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown };
  return ['23505', '40P01', '40001'].includes(String(e.code)) || [1062, 1213, 1205].includes(Number(e.errno));
}

async function killed(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
}

async function scenario(url: string, schema: string, name: string): Promise<void> {
  const db: ApiDatabase = await openDatabase(url);
  const knex = db.knex;
  const tables = Array.from({ length: TABLES }, (_, i) => `${name}_${i + 1}`);
  try {
    for (const t of tables) {
      await knex.schema.createTable(t, (b) => {
        b.integer('id').primary();
        b.integer('k').notNullable();
        b.string('c', 120).notNullable();
      });
      for (let i = 0; i < ROWS; i += 500)
        await knex(t).insert(
          Array.from({ length: Math.min(500, ROWS - i) }, (_, j) => ({
            id: i + j + 1,
            k: j % 97,
            c: `row ${i + j + 1}`,
          })),
        );
    }
    const source = {
      name,
      kind: 'polling',
      url,
      pollInterval: '100ms',
      chunkSize: 250,
      stateDir: h.dir,
      tables: tables.map((t) => `${schema}.${t}`),
    };
    // The first run publishes one event at a time so the first kill lands inside the first pass;
    // later runs pipeline (the default window) with a slow commit, so more is in flight at a kill.
    const config = async (publish: Record<string, unknown>) =>
      h.writeConfig({
        nats: { servers: h.nats.url, commitInterval: '300ms', leaseTtl: '1s', publish },
        sources: [source],
        log: { level: 'warn' },
      });
    const slow = await config({ window: 1 });
    const fast = await config({});

    const stop = { done: false };
    const counts = { tx: 0 };
    const writers = Array.from({ length: WRITERS }, () => writer(knex, tables, stop, counts));
    let kills = 0;
    const t0 = Date.now();
    const phases: string[] = [];
    const mark = (what: string) => phases.push(`${what} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    try {
      // 1. Killed in its first pass.
      let child = h.spawnSluice(slow);
      await h.waitForEvents(name, 400, 60_000);
      await killed(child);
      kills++;
      mark('kill 1');
      expect((await h.events(name)).length).toBeLessThan(TABLES * ROWS);
      // 2. Killed three times in later passes, each once the stream has grown by a random 100-200
      // events since the previous kill (the first of these runs finishes the first pass).
      let target = TABLES * ROWS + 100;
      for (let i = 0; i < 3; i++) {
        child = h.spawnSluice(fast);
        await h.waitForEvents(name, target, 60_000);
        await killed(child);
        kills++;
        mark(`kill ${kills}`);
        target = (await h.events(name)).length + 100 + Math.floor(Math.random() * 100);
      }
    } finally {
      stop.done = true;
      await Promise.all(writers);
    }
    expect(kills).toBe(4);
    expect(counts.tx).toBeGreaterThan(50);

    // 3. The writers have stopped; a last run catches up: every table matches the stream.
    const verify = async (): Promise<VerifyReport> => {
      const evs = await h.events(name);
      const rows = new Map<string, { key: string[]; rows: Record<string, unknown>[] }>();
      for (const t of tables)
        rows.set(`${schema}.${t}`, { key: ['id'], rows: await knex(t).select('id', 'k', 'c').orderBy('id') });
      return verifyStream(
        evs.map((e) => ({ ...toVerifiedEvent(e.event, e.key), lsn: e.msgId })),
        rows,
      );
    };
    const child = h.spawnSluice(fast);
    let report: VerifyReport | null = null;
    try {
      report = await waitFor(
        async () => {
          const r = await verify();
          return r.ok ? r : null;
        },
        'the stream to match every table',
        60_000,
        1000,
      ).catch(() => null);
    } finally {
      await killed(child);
      mark('caught up');
    }
    report ??= await verify();
    expect(report.examples).toEqual([]);
    expect(report.ok).toBe(true);
    for (const t of report.tables) {
      expect(t.events).toBeGreaterThan(ROWS);
      expect(t.differentRows + t.missingRows + t.extraRows).toBe(0);
    }
    // For the record: how many events repeat the value their key already had in the stream.
    const last = new Map<string, string>();
    let repeats = 0;
    for (const e of await h.events(name)) {
      const k = `${e.subject.split('.').slice(0, -1).join('.')}|${JSON.stringify(e.key)}`;
      const v = JSON.stringify(e.event.after);
      if (last.get(k) === v) repeats++;
      last.set(k, v);
    }
    console.log(
      `${name}: ${counts.tx} write transactions, ${kills} kills, ${report.events} events, ${repeats} repeated values; ${phases.join(', ')}`,
    );
  } finally {
    await db.close().catch(() => {});
  }
}

describe('a four-table diff source SIGKILLed in its first pass and in later passes, under concurrent writes', () => {
  test('on PostgreSQL', () => scenario(h.pg.url(), 'public', 'pdiff'), 180_000);
});

describe.skipIf(mariadbMissing)(`the same on MariaDB${mariadbMissing ? ` (${mariadbMissing})` : ''}`, () => {
  let m: TestMariaDB;
  beforeAll(async () => {
    m = await TestMariaDB.start();
  });
  afterAll(async () => {
    await m?.stop();
  });
  test('on MariaDB', () => scenario(m.url(), 'sluice_test', 'mdiff'), 180_000);
});
