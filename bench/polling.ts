// Polling figures, each beside a baseline measured in the same run, on a SQLite file (the
// cheapest real database here; the adapter code path is the same for every dialect):
// - first pass (diff mode, op r) rows/s over 1M rows vs a bare `SELECT *` stream with the same driver;
// - commit → adapter batch latency p99 at a steady 1k inserts/s vs the configured poll interval;
// - peak RSS during a second diff pass over 1M rows vs the idle process's RSS (target < 256 MB),
//   both of a child process that runs only that pass (the harness's own heap does not count).
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { PollingAdapter } from '../adapters/polling/index.js';
import { pollingSourceSchema } from '../adapters/polling/config.js';
import type { Logger, SourceContext } from '../src/core/source-adapter.js';
import { openDatabase } from '../src/sql/database.js';
import { peakRssBytes } from './proc.js';
import type { BenchOptions, BenchResult } from './types.js';

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

const here = fileURLToPath(import.meta.url);

function adapter(
  url: string,
  dir: string,
  table: Record<string, unknown> | string,
  pollInterval = '1s',
  name = `bench${Math.random().toString(36).slice(2, 8)}`,
) {
  const cfg = pollingSourceSchema.parse({
    name,
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

    // Second pass over the same rows (1% changed): peak RSS while diffing, in a child process.
    await a.close();
    await db.knex.raw(`UPDATE t SET note = 'changed' WHERE id % 100 = 0`);
    const rss = await diffPassInChild(url, dir, a.name, last);
    results.push({
      name: `polling diff pass peak RSS (${rows} rows, ${rss.changed} changed)`,
      value: Math.round(rss.peak / 2 ** 20),
      unit: 'MB',
      baseline: { name: 'idle process RSS', value: Math.round(rss.idle / 2 ** 20) },
      ratio: Number((rss.idle / rss.peak).toFixed(2)),
      extra: { targetMB: 256, measured: 'child process', childVmHwmMB: Math.round(rss.hwm / 2 ** 20) },
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

interface RssFigures {
  /** RSS once modules are loaded and the adapter is built, before the pass. */
  readonly idle: number;
  /** Largest RSS sampled (every 20 ms) during the pass. */
  readonly peak: number;
  /** The process's lifetime peak (VmHWM), module loading included. */
  readonly hwm: number;
  readonly changed: number;
}

/** Runs the second diff pass of source `name` in a child process and reads its RSS figures. */
function diffPassInChild(url: string, dir: string, name: string, offset: unknown): Promise<RssFigures> {
  const child = spawn(process.execPath, ['--import', 'tsx', here, '--diff-pass', url, dir, name], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SLUICE_BENCH_OFFSET: JSON.stringify(offset) },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => {
      const m = /RSS (\{.*\})/.exec(out);
      if (code === 0 && m) resolve(JSON.parse(m[1]!) as RssFigures);
      else reject(new Error(`diff pass child exited with ${code}: ${out}`));
    });
  });
}

/** Child process: one diff pass of main.t after the committed offset; prints `RSS {idle, peak, changed}`. */
async function diffPassChild(url: string, dir: string, name: string): Promise<void> {
  const a = adapter(url, dir, 'main.t', '1s', name);
  const from = JSON.parse(process.env.SLUICE_BENCH_OFFSET ?? 'null') as Parameters<typeof a.stream>[1];
  // Idle: modules loaded, the adapter built, nothing read yet.
  const idle = process.memoryUsage().rss;
  let peak = idle;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  let changed = 0;
  const ac = new AbortController();
  for await (const b of a.stream({ signal: ac.signal, log: quiet }, from)) {
    changed += b.changes.length;
    const c = b.offset?.tables['main.t'];
    if (c?.mode === 'diff' && c.phase === 'done' && c.pass === 1) break;
  }
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  await a.close();
  const hwm = peakRssBytes() ?? process.memoryUsage().rss;
  process.stdout.write(`RSS ${JSON.stringify({ idle, peak, hwm, changed } satisfies RssFigures)}\n`);
}

const childAt = process.argv.indexOf('--diff-pass');
if (childAt >= 0)
  await diffPassChild(process.argv[childAt + 1]!, process.argv[childAt + 2]!, process.argv[childAt + 3]!);
