// Two-way PostgreSQL ↔ PostgreSQL without loops: the old database (captured as `erp`) is applied to
// the new one by sink `toNew`, the new one (captured as `app`) back to the old by sink `toOld`,
// both with twoWay on. Writers change both sides; every write arrives on the other side once and
// never comes back: the sinks write under their replication origin, the sources tag those
// changes with the sink's name, and the sink of the other direction skips them.
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';

let h: Harness;
let rt: Runtime | null = null;
let config: ReturnType<typeof parseConfig>;
let raw: { sinks: Record<string, unknown>[] } & Record<string, unknown>;

beforeAll(async () => {
  // Commit timestamps: conflicts newerWins reads the target row's (pg_xact_commit_timestamp).
  h = await Harness.start({ pgFlags: ['-c', 'track_commit_timestamp=on'] });
  await h.pg.query('CREATE DATABASE newdb');
  for (const db of ['postgres', 'newdb'])
    await h.pg.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, side text)', [], db);
}, 60_000);

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

async function write(db: string, from: number, n: number, side: string): Promise<void> {
  const c = new pg.Client({ connectionString: h.pg.url(db) });
  await c.connect();
  try {
    for (let i = 0; i < n; i++) {
      await c.query('INSERT INTO items VALUES ($1, $2, $3)', [from + i, i, side]);
      if (i % 3 === 0) await c.query('UPDATE items SET v = v + 1000 WHERE id = $1', [from + i]);
    }
  } finally {
    await c.end();
  }
}

const rows = (db: string) => h.pg.query('SELECT id, v, side FROM items ORDER BY id', [], db);

/** The conflicts published on row `id`, by sink, once both sinks have published one. */
async function conflictsOn(id: number): Promise<Record<string, Record<string, unknown>>> {
  const conflicts = await waitFor(
    async () => {
      const c = (await h.events('conflicts')).filter((x) => (x.event.key as { id: number }).id === id);
      return c.length >= 2 ? c : null;
    },
    `two conflicts on row ${id}`,
    60_000,
    200,
  );
  return Object.fromEntries(conflicts.map((c) => [c.event.sink as string, c.event]));
}

async function bothEqualAgain(): Promise<void> {
  await waitFor(
    async () => {
      const [a, b] = await Promise.all([rows('postgres'), rows('newdb')]);
      return JSON.stringify(a) === JSON.stringify(b) ? a : null;
    },
    'both databases equal again',
    30_000,
    200,
  );
}

test(
  'writes on both sides arrive on the other side once and never come back',
  { timeout: 120_000 },
  async () => {
    const common = { kind: 'postgres', heartbeatInterval: '1s', tables: ['public.items'] };
    raw = {
      nats: { servers: h.nats.url, commitInterval: '50ms', leaseTtl: '2s' },
      sources: [
        { ...common, name: 'erp', url: h.pg.url() },
        { ...common, name: 'app', url: h.pg.url('newdb') },
      ],
      sinks: [
        // The old side wins a row changed on both sides: applied into the new one, kept in the old one.
        { name: 'toNew', url: h.pg.url('newdb'), from: 'erp', twoWay: true, conflicts: 'sourceWins' },
        { name: 'toOld', url: h.pg.url(), from: 'app', twoWay: true, conflicts: 'targetWins' },
      ],
      log: { level: 'warn' },
    };
    config = parseConfig(raw);
    rt = await h.runInProcess(config);
    await h.waitStreaming(rt);
    await Promise.all([write('postgres', 1, 200, 'old'), write('newdb', 100_001, 200, 'new')]);
    // Each side made 200 inserts and 67 updates.
    const own = 267;
    await waitFor(
      async () => {
        const [a, b] = await Promise.all([rows('postgres'), rows('newdb')]);
        return a.length === 400 && JSON.stringify(a) === JSON.stringify(b);
      },
      'both databases equal',
      60_000,
      200,
    );
    const origins = async (source: string) => {
      const out: Record<string, number> = {};
      for (const e of await h.events(source)) {
        const o = (e.event.origin as string | undefined) ?? 'own';
        out[o] = (out[o] ?? 0) + 1;
      }
      return out;
    };
    // On each side: its own writes once, untagged; the other side's writes, tagged with the sink
    // that applied them (at most once each: a batch folds an insert and its update into one upsert).
    const [erp, app] = await waitFor(
      async () => {
        const both = await Promise.all([origins('erp'), origins('app')]);
        return both[0].toOld !== undefined && both[1].toNew !== undefined ? both : null;
      },
      'tagged echoes in the stream',
      30_000,
      200,
    );
    expect(erp.own).toBe(own);
    expect(app.own).toBe(own);
    expect(erp.toOld).toBeGreaterThanOrEqual(200);
    expect(erp.toOld).toBeLessThanOrEqual(own);
    expect(app.toNew).toBeGreaterThanOrEqual(200);
    expect(app.toNew).toBeLessThanOrEqual(own);
    // Nothing comes back: after a while the stream holds no more events than that.
    await h.pg.query('INSERT INTO items VALUES (-1, -1, $1)', ['marker']);
    await waitFor(
      async () => (await h.events('app')).some((e) => e.event.origin === 'toNew'),
      'marker echo',
      30_000,
    );
    await waitFor(async () => (await rows('newdb')).some((r) => r.id === -1), 'marker applied', 30_000);
    // toOld has taken the marker's echo (and skipped it): had it applied it, erp would show it.
    const lastApp = Math.max(...(await h.events('app')).map((e) => e.seq));
    await waitFor(
      async () =>
        Number(
          (await h.pg.query(`SELECT stream_seq FROM sluice_sink_position WHERE sink = 'toOld'`))[0]
            ?.stream_seq,
        ) >= lastApp,
      'toOld past the echo',
      30_000,
    );
    // …and a later change of the old side is behind anything that echo would have caused.
    await h.pg.query('INSERT INTO items VALUES (-2, -2, $1)', ['marker']);
    await waitFor(
      async () => (await rows('newdb')).some((r) => r.id === -2),
      'second marker applied',
      30_000,
    );
    const [erpAfter, appAfter] = await Promise.all([origins('erp'), origins('app')]);
    expect(erpAfter).toEqual({ ...erp, own: own + 2 });
    expect(appAfter).toEqual({ ...app, toNew: app.toNew! + 2 });
  },
);

test(
  "a row changed on both sides is a conflict: resolved by each sink's policy and published with both versions",
  { timeout: 120_000 },
  async () => {
    for (const db of ['postgres', 'newdb'])
      await h.pg.query('ALTER TABLE items REPLICA IDENTITY FULL', [], db);
    await h.pg.query('INSERT INTO items VALUES (900, 0, $1)', ['both']);
    await waitFor(
      async () => (await rows('newdb')).some((r) => r.id === 900),
      'row 900 on the new side',
      30_000,
    );
    // Both sides change the row while nothing runs, then everything starts again.
    await rt!.stop();
    await h.pg.query('UPDATE items SET v = 1 WHERE id = 900', [], 'postgres');
    await h.pg.query('UPDATE items SET v = 2 WHERE id = 900', [], 'newdb');
    rt = await h.runInProcess(config);
    const bySink = await conflictsOn(900);
    expect(bySink.toNew).toMatchObject({
      policy: 'sourceWins',
      winner: 'source',
      key: { id: 900 },
      source: { op: 'u', before: { v: 0 }, after: { v: 1 } },
      target: { v: 2 },
    });
    expect(bySink.toOld).toMatchObject({
      policy: 'targetWins',
      winner: 'target',
      key: { id: 900 },
      source: { op: 'u', before: { v: 0 }, after: { v: 2 } },
      target: { v: 1 },
    });
    // Both sides end with the old side's value, and stay there.
    await bothEqualAgain();
    expect((await rows('newdb')).find((r) => r.id === 900)?.v).toBe(1);
    expect((await h.events('conflicts')).length).toBe(2);
  },
);

test(
  'newerWins: the later of the two changes wins on both sides, by commit time; both conflicts published',
  { timeout: 120_000 },
  async () => {
    await h.pg.query('INSERT INTO items VALUES (901, 0, $1)', ['newer']);
    await waitFor(
      async () => (await rows('newdb')).some((r) => r.id === 901),
      'row 901 on the new side',
      30_000,
    );
    await rt!.stop();
    const newer = parseConfig({ ...raw, sinks: raw.sinks.map((s) => ({ ...s, conflicts: 'newerWins' })) });
    const t1 = Date.parse(
      (
        await h.pg.query(`UPDATE items SET v = 1 WHERE id = 901 RETURNING now()::text AS t`, [], 'postgres')
      )[0]!.t as string,
    );
    // The new side's change commits measurably later (millisecond commit times), without sleeping.
    await waitFor(
      async () =>
        Number((await h.pg.query(`SELECT extract(epoch FROM clock_timestamp()) * 1000 AS ms`))[0]!.ms) >
        t1 + 5,
      "the clock past the old side's commit",
      5_000,
      1,
    );
    await h.pg.query('UPDATE items SET v = 2 WHERE id = 901', [], 'newdb');
    rt = await h.runInProcess(newer);
    const bySink = await conflictsOn(901);
    // toNew brings the old side's earlier change: the new side's later row stays.
    expect(bySink.toNew).toMatchObject({
      policy: 'newerWins',
      winner: 'target',
      source: { op: 'u', before: { v: 0 }, after: { v: 1 } },
      target: { v: 2 },
    });
    // toOld brings the new side's later change: it replaces the old side's row.
    expect(bySink.toOld).toMatchObject({
      policy: 'newerWins',
      winner: 'source',
      source: { op: 'u', before: { v: 0 }, after: { v: 2 } },
      target: { v: 1 },
    });
    for (const c of Object.values(bySink)) {
      const ev = c as { source: { ts_ms: number }; target_ts_ms: number };
      expect(typeof ev.target_ts_ms).toBe('number');
    }
    expect((bySink.toNew as { source: { ts_ms: number }; target_ts_ms: number }).source.ts_ms).toBeLessThan(
      (bySink.toNew as { target_ts_ms: number }).target_ts_ms,
    );
    await bothEqualAgain();
    expect((await rows('postgres')).find((r) => r.id === 901)?.v).toBe(2);
  },
);
