// REST bench: GET by key and a filtered list through Sluice, beside a bare Hono route running the
// same SQL with the same driver (knex + pg) in the same run. Each server runs in its own child
// process; this process only generates load: 32 keep-alive connections on loopback, bounded in
// time and in requests.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './proc.js';
import type { BenchOptions, BenchResult } from './types.js';

const here = fileURLToPath(import.meta.url);
const rowCount = 10_000;
const concurrency = 32;
const listColumns = [
  'cust_no',
  'cust_nm',
  'actv_flg',
  'crt_dt',
  'bal_amt',
  'cr_lmt_cents',
  'stat_cd',
  'upd_ts',
  'notes',
];

interface LoadResult {
  readonly rps: number;
  readonly p99ms: number;
  readonly requests: number;
  readonly errors: number;
  /** Server CPU time (user + system, all threads) per request, in µs; undefined without /proc. */
  readonly cpuUs?: number;
}

/** `load` with the server's CPU time per request measured around it (10 ms ticks). */
async function loadWithCpu(pid: number, ...args: Parameters<typeof load>): Promise<LoadResult> {
  const before = cpuSeconds(pid);
  const r = await load(...args);
  const after = cpuSeconds(pid);
  if (before === undefined || after === undefined || r.requests === 0) return r;
  return { ...r, cpuUs: ((after - before) * 1e6) / r.requests };
}

/** `concurrency` loops of sequential requests over one keep-alive agent, for `ms` or `max` requests. */
async function load(base: string, path: (i: number) => string, ms: number, max: number): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  let issued = 0;
  const deadline = performance.now() + ms;
  const one = (p: string) =>
    new Promise<number>((resolve) => {
      const req = http.get(`${base}${p}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && issued < max) {
        const t = performance.now();
        const status = await one(path(issued++));
        latencies.push(performance.now() - t);
        if (status !== 200) errors++;
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / elapsed,
    p99ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? 0,
    requests: latencies.length,
    errors,
  };
}

function startServer(mode: 'sluice' | 'bare', dbUrl: string): Promise<{ url: string; child: ChildProcess }> {
  // SLUICE_BENCH_PROFILE=dir writes a CPU profile of each server process there.
  const prof = process.env.SLUICE_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SLUICE_BENCH_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', here, '--serve', mode, dbUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve({ url: m[1]!, child });
    });
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** Child process: serve `mode` on a free loopback port and print READY <url>. */
async function serve(mode: string, dbUrl: string): Promise<void> {
  let close: () => Promise<void>;
  let url: string;
  if (mode === 'sluice') {
    const { parseConfigText } = await import('../src/config/load.js');
    const { startApi } = await import('../src/http/server.js');
    const { createLogger } = await import('../src/util/logger.js');
    const yaml = await readFile(new URL('../test/fixtures/rest/legacy.yaml', import.meta.url), 'utf8');
    const api = await startApi(parseConfigText(yaml, { DB_URL: dbUrl }), createLogger('error'));
    url = api.url;
    close = () => api.close();
  } else {
    const { Hono } = await import('hono');
    const { serve: listen } = await import('@hono/node-server');
    const { openDatabase } = await import('../src/sql/database.js');
    const db = await openDatabase(dbUrl);
    const app = new Hono();
    app.get('/api/customers/:id', async (c) => {
      const row: unknown = await db
        .knex('custmast')
        .select(listColumns)
        .where('cust_no', c.req.param('id').padEnd(8, ' '))
        .first();
      return row ? c.json(row) : c.json({}, 404);
    });
    app.get('/api/customers', async (c) => {
      const rows: unknown[] = await db
        .knex('custmast')
        .select(listColumns)
        .where('actv_flg', 'Y')
        .orderBy('cust_no')
        .limit(51);
      return c.json({ data: rows.slice(0, 50) });
    });
    const server = await new Promise<ReturnType<typeof listen>>((resolve) => {
      const s = listen({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
    });
    const addr = server.address() as { port: number };
    url = `http://127.0.0.1:${addr.port}`;
    close = async () => {
      await new Promise<void>((r) => server.close(() => r()));
      await db.close();
    };
  }
  process.stdout.write(`READY ${url}\n`);
  process.once('SIGTERM', () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

export async function runRestBench(opts: BenchOptions): Promise<BenchResult[]> {
  const { TestPostgres } = await import('../test/support/postgres-server.js');
  const { openDatabase } = await import('../src/sql/database.js');
  const { createLegacySchema, customerRow, custId } = await import('../test/fixtures/rest/legacy-db.js');
  const pg = await TestPostgres.start();
  const results: BenchResult[] = [];
  try {
    const seed = await openDatabase(pg.url());
    await createLegacySchema(seed.knex, 'postgres');
    const extra = Array.from({ length: rowCount - 120 }, (_, k) => customerRow(121 + k));
    await seed.knex.batchInsert('custmast', extra, 1000);
    await seed.knex.raw('ANALYZE custmast');
    await seed.close();

    const ms = opts.quick ? 3_000 : 10_000;
    const max = opts.quick ? 30_000 : 200_000;
    const byKey = (i: number) => `/api/customers/${custId(((i * 7919) % rowCount) + 1)}`;
    const list = () => '/api/customers?active=eq.true&limit=50';
    // Servers alternate (bare, sluice, bare, sluice) and each keeps its best round, so that a
    // burst of load from elsewhere on the machine does not decide the ratio.
    const measured: Record<string, Record<string, LoadResult>> = {};
    const best = (a: LoadResult | undefined, b: LoadResult) => (a && a.rps >= b.rps ? a : b);
    const leastCpu: Record<string, number> = {};
    const keepCpu = (key: string, r: LoadResult) => {
      if (r.cpuUs !== undefined) leastCpu[key] = Math.min(leastCpu[key] ?? Infinity, r.cpuUs);
    };
    for (let round = 0; round < 2; round++)
      for (const mode of ['bare', 'sluice'] as const) {
        const { url, child } = await startServer(mode, pg.url());
        try {
          // Warm-up of both scenarios (pools, JIT, plans), so that neither measures compilation.
          await load(url, byKey, 1_000, 5_000);
          await load(url, list, 500, 2_000);
          const get = await loadWithCpu(child.pid!, url, byKey, ms / 2, max);
          const lst = await loadWithCpu(child.pid!, url, list, ms / 2, max);
          measured[mode] = { get: best(measured[mode]?.get, get), list: best(measured[mode]?.list, lst) };
          keepCpu(`${mode} get`, get);
          keepCpu(`${mode} list`, lst);
          opts.log(
            `rest ${mode} round ${round + 1}: get ${get.rps.toFixed(0)} req/s p99 ${get.p99ms.toFixed(2)} ms cpu ${get.cpuUs?.toFixed(0) ?? '?'} µs/req; list ${lst.rps.toFixed(0)} req/s p99 ${lst.p99ms.toFixed(2)} ms cpu ${lst.cpuUs?.toFixed(0) ?? '?'} µs/req`,
          );
        } finally {
          await stopServer(child);
        }
      }
    for (const [scenario, label] of [
      ['get', 'GET by key'],
      ['list', 'filtered list (50 rows)'],
    ] as const) {
      const s = measured.sluice![scenario]!;
      const b = measured.bare![scenario]!;
      const extra = { requests: s.requests, errors: s.errors, concurrency };
      const baseline = (value: number) => ({ name: `bare Hono route, same SQL (${label})`, value });
      // Latency ratio is baseline/value so that, like throughput, higher is better.
      results.push({
        name: `rest ${label} throughput`,
        value: s.rps,
        unit: 'req/s',
        baseline: baseline(b.rps),
        ratio: s.rps / b.rps,
        extra,
      });
      const [sCpu, bCpu] = [leastCpu[`sluice ${scenario}`], leastCpu[`bare ${scenario}`]];
      if (sCpu !== undefined && bCpu !== undefined)
        // Like latency, baseline/value: higher is better.
        results.push({
          name: `rest ${label} server CPU per request`,
          value: sCpu,
          unit: 'µs',
          baseline: baseline(bCpu),
          ratio: bCpu / sCpu,
          extra,
        });
      results.push({
        name: `rest ${label} p99`,
        value: s.p99ms,
        unit: 'ms',
        baseline: baseline(b.p99ms),
        ratio: b.p99ms / s.p99ms,
        extra,
      });
    }
  } finally {
    await pg.stop();
  }
  return results;
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0) await serve(process.argv[serveAt + 1]!, process.argv[serveAt + 2]!);
else if (process.argv[1] === here) {
  const quick = process.argv.includes('--quick');
  const results = await runRestBench({ quick, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
