// Polling figures, each beside a baseline measured in the same run, on a SQLite file (the
// cheapest real database here; the adapter code path is the same for every dialect):
// - first pass (diff mode, op r) rows/s over 1M rows vs a bare `SELECT *` stream with the same driver;
// - commit → adapter batch latency p99 at a steady 1k inserts/s vs the configured poll interval;
// - peak RSS during a second diff pass over 1M rows vs the idle process's RSS (target < 256 MB).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { PollingAdapter } from '../adapters/polling/index.js';
import { pollingSourceSchema } from '../adapters/polling/config.js';
import type { Logger, SourceContext } from '../src/core/source-adapter.js';
import { openDatabase } from '../src/api/database.js';
import type { BenchOptions, BenchResult } from './types.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function adapter(url: string, dir: string, table: Record<string, unknown> | string, pollInterval = '1s') {
  const cfg = pollingSourceSchema.parse({
    name: `bench${Math.random().toString(36).slice(2, 8)}`,
    kind: 'polling',
    url,
    pollInterval,
    lookBack: 0,
    stateDir: dir,
    tables: [table],
  });
  return new PollingAdapter(cfg, quiet);
}

async function fill(knex: Knex, rows: number): Promise<void> {
  await knex.raw(
    'CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount TEXT NOT NULL, note TEXT)',
  );
  await knex.raw(
    `WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ${rows})
     INSERT INTO t SELECT i, 'customer ' || i, printf('%d.%02d', i % 10000, i % 100), 'some legacy note text' FROM g`,
  );
}

export async function runPollingBench(opts: BenchOptions): Promise<BenchResult[]> {
  const rows = opts.quick ? 50_000 : 1_000_000;
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-polling-'));
  const url = `sqlite:${join(dir, 'legacy.db')}`;
  const db = await openDatabase(url);
  const results: BenchResult[] = [];
  // Before any table is read: the bare stream below leaves the process larger than it started.
  const idleRss = process.memoryUsage().rss;
  try {
    opts.log(`polling: filling ${rows} rows`);
    await fill(db.knex, rows);

    // Baseline: a bare SELECT * stream of the same table with the same driver.
    let t0 = performance.now();
    let n = 0;
    for await (const _row of db.knex('t').select('*').stream()) n++;
    const bareRate = Math.round(n / ((performance.now() - t0) / 1000));

    const a = adapter(url, dir, 'main.t');
    const ac = new AbortController();
    const ctx: SourceContext = { signal: ac.signal, log: quiet };
    t0 = performance.now();
    let read = 0;
    let last = null;
    for await (const b of a.snapshot(ctx, null)) {
      read += b.changes.length;
      last = b.offset;
    }
    const passRate = Math.round(read / ((performance.now() - t0) / 1000));
    results.push({
      name: `polling first pass (diff, ${rows} rows)`,
      value: passRate,
      unit: 'rows/s',
      baseline: { name: 'bare SELECT * stream', value: bareRate },
      ratio: Number((passRate / bareRate).toFixed(2)),
    });

    // Second pass over the same rows (1% changed): peak RSS while diffing.
    await db.knex.raw(`UPDATE t SET note = 'changed' WHERE id % 100 = 0`);
    let peak = process.memoryUsage().rss;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    let changed = 0;
    for await (const b of a.stream(ctx, last)) {
      changed += b.changes.length;
      const c = b.offset?.tables['main.t'];
      if (c?.mode === 'diff' && c.phase === 'done' && c.pass === 1) break;
    }
    clearInterval(sampler);
    await a.close();
    results.push({
      name: `polling diff pass peak RSS (${rows} rows, ${changed} changed)`,
      value: Math.round(peak / 2 ** 20),
      unit: 'MB',
      baseline: { name: 'idle process RSS', value: Math.round(idleRss / 2 ** 20) },
      ratio: Number((idleRss / peak).toFixed(2)),
      extra: { targetMB: 256 },
    });

    // Latency at a steady 1k inserts/s, incrementing mode.
    const interval = 200;
    await db.knex.raw('CREATE TABLE ev (id INTEGER PRIMARY KEY, at REAL NOT NULL)');
    const inc = adapter(url, dir, { table: 'main.ev', mode: 'incrementing', column: 'id' }, `${interval}ms`);
    const lat: number[] = [];
    const lac = new AbortController();
    const consume = (async () => {
      for await (const b of inc.stream({ signal: lac.signal, log: quiet }, null))
        for (const c of b.changes)
          lat.push(performance.timeOrigin + performance.now() - Number(c.event.after!.at));
    })();
    const seconds = opts.quick ? 3 : 10;
    let id = 0;
    const start = Date.now();
    while (Date.now() - start < seconds * 1000) {
      const tick = Date.now();
      const batch = Array.from({ length: 10 }, () => ({
        id: ++id,
        at: performance.timeOrigin + performance.now(),
      }));
      await db.knex('ev').insert(batch);
      await new Promise((r) => setTimeout(r, Math.max(0, 10 - (Date.now() - tick))));
    }
    const deadline = Date.now() + 10_000;
    while (lat.length < id && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    lac.abort();
    await consume;
    await inc.close();
    lat.sort((x, y) => x - y);
    const p99 = Math.round(lat[Math.floor(lat.length * 0.99)] ?? NaN);
    results.push({
      name: `polling commit → batch latency p99 (~1k inserts/s, incrementing)`,
      value: p99,
      unit: 'ms',
      baseline: { name: 'poll interval', value: interval },
      ratio: Number((interval / p99).toFixed(2)),
      extra: { events: lat.length, inserted: id, p50: Math.round(lat[Math.floor(lat.length / 2)] ?? NaN) },
    });
  } finally {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  }
  return results;
}
