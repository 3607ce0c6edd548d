// SIGKILL the sluice process at random moments while pgbench writes, restart it each time, and
// prove that the stream holds every committed change exactly once.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readTableStates } from '../support/postgres-state.js';
import { toVerifiedEvent, verifyStream } from '../support/stream-verifier.js';
import { Harness } from '../support/harness.js';
import { pgbenchInit, pgbenchPath, pgbenchRun } from '../support/pgbench.js';

const TABLES = [
  'public.pgbench_accounts',
  'public.pgbench_branches',
  'public.pgbench_tellers',
  'public.pgbench_history',
  'public.marker',
];
let h: Harness;
let child: ChildProcess | null = null;

const hasPgbench = pgbenchPath() !== null;

beforeAll(async () => {
  if (!hasPgbench) return;
  h = await Harness.start();
  pgbenchInit(h.pg.url(), 1);
  await h.pg.query(`
    ALTER TABLE pgbench_accounts REPLICA IDENTITY FULL; ALTER TABLE pgbench_branches REPLICA IDENTITY FULL;
    ALTER TABLE pgbench_tellers REPLICA IDENTITY FULL; ALTER TABLE pgbench_history REPLICA IDENTITY FULL;
    CREATE TABLE marker (id int PRIMARY KEY);`);
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await h?.stop();
});

function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => p.once('exit', () => r()));
}

test.skipIf(!hasPgbench)(
  'SIGKILL at random moments under pgbench: nothing lost, nothing duplicated',
  { timeout: 300_000 },
  async () => {
    const file = await h.writeConfig(
      h.rawConfig(
        { name: 'bench', tables: TABLES, snapshotChunkSize: 2000 },
        { leaseTtl: '1s', commitInterval: '100ms' },
      ),
    );
    child = h.spawnSluice(file);
    // The initial snapshot first (killing it is the next test's job), so that every pgbench
    // change must arrive as a streamed event and the counts can be compared exactly.
    await h.pg.query('INSERT INTO marker VALUES (0)');
    await h.waitForMarker(child, 'bench', 180_000, 0);
    const bench = pgbenchRun(h.pg.url(), ['-c', '4', '-j', '2', '-T', '30', '-R', '800']);
    let kills = 0;
    let killsUnderLoad = 0;
    let benchDone = false;
    void bench.done.finally(() => (benchDone = true)).catch(() => {});
    // Ten kills at random moments of the 30 s pgbench run (README.md "Guarantees" reports ten): at
    // most 2.5 s apart, so all ten land while pgbench writes; some hit a process still starting.
    while (kills < 10) {
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 2000));
      if (!benchDone) killsUnderLoad++;
      child.kill('SIGKILL');
      await exited(child);
      kills++;
      child = h.spawnSluice(file);
    }
    const out = await bench.done;
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);
    // pgbench's TPC-B-like transaction makes three updates and one insert.
    const changesMade = processed * 4;
    await h.pg.query('INSERT INTO marker VALUES (1)');
    await h.waitForMarker(child);
    child.kill('SIGTERM');
    await exited(child);

    const events = (await h.events('bench')).map((e) => toVerifiedEvent(e.event, e.key));
    const db = await readTableStates(h.pg.url(), TABLES);
    const report = verifyStream(events, db, new Set(TABLES));
    const changes = events.filter((e) => !e.snapshot && e.table !== 'public.marker').length;
    console.log(
      `fault sigkill x${kills} (${killsUnderLoad} while pgbench ran): changes made ${changesMade}, events received ${changes}, lost ${report.lost}, duplicated ${report.duplicates}`,
    );
    expect(killsUnderLoad).toBe(10);
    expect(report.examples).toEqual([]);
    expect(changes).toBe(changesMade);
    expect(report.duplicates).toBe(0);
    expect(report.lost).toBe(0);
    expect(changes).toBeGreaterThan(1000);
  },
);

test.skipIf(!hasPgbench)(
  'a snapshot killed part-way resumes by key range while its rows keep changing',
  { timeout: 300_000 },
  async () => {
    await h.pg.query(`CREATE TABLE snaprows (id int PRIMARY KEY, v int NOT NULL, pad text);
    ALTER TABLE snaprows REPLICA IDENTITY FULL;
    INSERT INTO snaprows SELECT g, 0, repeat('x', 200) FROM generate_series(1, 60000) g;`);
    const file = await h.writeConfig(
      h.rawConfig(
        { name: 'resume', tables: ['public.snaprows'], snapshotChunkSize: 500 },
        { leaseTtl: '1s' },
      ),
    );
    // Rows all over the table keep changing during the snapshot: before and after the kill point.
    let stop = false;
    const writer = (async () => {
      const c = await h.pg.client();
      let n = 0;
      while (!stop) {
        const id = 1 + ((n++ * 7919) % 60000);
        await c.query('UPDATE snaprows SET v = v + 1 WHERE id = $1 OR id = $2', [id, 60001 - id]);
      }
      await c.end();
    })();
    let kills = 0;
    for (const threshold of [8000, 25000, 40000]) {
      child = h.spawnSluice(file);
      await h.waitForEvents('resume', threshold, 120_000);
      child.kill('SIGKILL');
      await exited(child);
      kills++;
    }
    child = h.spawnSluice(file);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await writer;
    await h.pg.query('INSERT INTO snaprows VALUES (0, -1, $1)', ['end']);
    const { waitFor } = await import('../support/ports.js');
    await waitFor(
      async () => (await h.events('resume')).some((e) => (e.event.after as { id?: number } | null)?.id === 0),
      'the end row',
      180_000,
      500,
    );
    child.kill('SIGTERM');
    await exited(child);
    const all = await h.events('resume');
    const events = all.map((e) => toVerifiedEvent(e.event, e.key));
    const report = verifyStream(
      events,
      await readTableStates(h.pg.url(), ['public.snaprows']),
      new Set(['public.snaprows']),
    );
    const reads = events.filter((e) => e.snapshot).length;
    console.log(
      `snapshot resume: ${kills} kills, ${reads} snapshot reads, ${events.length - reads} changes, duplicates ${report.duplicates}, lost ${report.lost}`,
    );
    expect(report.examples).toEqual([]);
    expect(reads).toBe(60000); // every row read exactly once, across three resumes
    expect(report.duplicates).toBe(0);
    expect(report.lost).toBe(0);
  },
);

test.skipIf(!hasPgbench)(
  'a table without a key, killed mid-snapshot while rows are appended: every row once',
  { timeout: 300_000 },
  async () => {
    // Like pgbench_history: no key, insert-only. Its pages are no resume points; the re-read after
    // a crash publishes rows under content-derived ids, so the rows published before are absorbed.
    await h.pg.query(`CREATE TABLE applog (at int NOT NULL, msg text);
      ALTER TABLE applog REPLICA IDENTITY FULL;
      INSERT INTO applog SELECT g, md5(g::text) FROM generate_series(1, 60000) g;`);
    const file = await h.writeConfig(
      h.rawConfig({ name: 'keyless', tables: ['public.applog'], snapshotChunkSize: 500 }, { leaseTtl: '1s' }),
    );
    let stop = false;
    const writer = (async () => {
      const c = await h.pg.client();
      let n = 100000;
      while (!stop) await c.query('INSERT INTO applog VALUES ($1, $2)', [n++, 'appended']);
      await c.end();
    })();
    let kills = 0;
    for (const threshold of [10000, 30000]) {
      child = h.spawnSluice(file);
      await h.waitForEvents('keyless', threshold, 120_000);
      child.kill('SIGKILL');
      await exited(child);
      kills++;
    }
    child = h.spawnSluice(file);
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await writer;
    await h.pg.query(`INSERT INTO applog VALUES (-1, 'end')`);
    const { waitFor } = await import('../support/ports.js');
    await waitFor(
      async () =>
        (await h.events('keyless')).some((e) => (e.event.after as { at?: number } | null)?.at === -1),
      'the end row',
      180_000,
      500,
    );
    child.kill('SIGTERM');
    await exited(child);
    const events = (await h.events('keyless')).map((e) => toVerifiedEvent(e.event, e.key));
    const report = verifyStream(
      events,
      await readTableStates(h.pg.url(), ['public.applog']),
      new Set(['public.applog']),
    );
    const [rows] = await h.pg.query<{ n: string }>('SELECT count(*)::text AS n FROM applog');
    console.log(
      `keyless snapshot: ${kills} kills, ${events.length} events for ${rows!.n} rows, extra ${report.tables[0]!.extraRows}, missing ${report.tables[0]!.missingRows}`,
    );
    expect(report.examples).toEqual([]);
    expect(report.lost).toBe(0);
    expect(events.length).toBe(Number(rows!.n));
  },
);
