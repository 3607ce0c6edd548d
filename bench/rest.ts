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
export const concurrency = 32;
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

export interface LoadResult {
  readonly rps: number;
  readonly p99ms: number;
  readonly requests: number;
  readonly errors: number;
  /** Server CPU time (user + system, all threads) per request, in µs; undefined without /proc. */
  readonly cpuUs?: number;
}

/** `load` with the server's CPU time per request measured around it (10 ms ticks). */
export async function loadWithCpu(pid: number, ...args: Parameters<typeof load>): Promise<LoadResult> {
  const before = cpuSeconds(pid);
  const r = await load(...args);
  const after = cpuSeconds(pid);
  if (before === undefined || after === undefined || r.requests === 0) return r;
  return { ...r, cpuUs: ((after - before) * 1e6) / r.requests };
}

/** `concurrency` loops of sequential requests over one keep-alive agent, for `ms` or `max` requests. */
export async function load(
  base: string,
  path: (i: number) => string,
  ms: number,
  max: number,
): Promise<LoadResult> {
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

/** A server child process running `script --serve mode ...args`, resolved once it prints READY <url>. */
export function startServer(
  mode: string,
  args: readonly string[],
  script = here,
): Promise<{ url: string; child: ChildProcess }> {
  // SLUICE_BENCH_PROFILE=dir writes a CPU profile of each server process there.
  const prof = process.env.SLUICE_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SLUICE_BENCH_PROFILE}`]
    : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', script, '--serve', mode, ...args], {
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

export async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** The REST fixture's Sluice API (test/fixtures/rest/legacy.yaml) over `dbUrl`, on a free port. */
export async function startSluiceApi(dbUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const { parseConfigText } = await import('../src/config/load.js');
  const { startApi } = await import('../src/http/server.js');
  const { createLogger } = await import('../src/util/logger.js');
  const yaml = await readFile(new URL('../test/fixtures/rest/legacy.yaml', import.meta.url), 'utf8');
  const api = await startApi(parseConfigText(yaml, { DB_URL: dbUrl }), createLogger('error'));
  return { url: api.url, close: () => api.close() };
}

/** Prints READY <url> for the parent and closes on SIGTERM. */
export function announce(url: string, close: () => Promise<void>): void {
  process.stdout.write(`READY ${url}\n`);
  process.once('SIGTERM', () => {
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

/** The legacy REST fixture's tables in `dbUrl`, custmast grown to `rows` rows and analyzed. */
export async function seedLegacy(dbUrl: string, rows: number): Promise<void> {
  const { openDatabase } = await import('../src/sql/database.js');
  const { createLegacySchema, customerRow } = await import('../test/fixtures/rest/legacy-db.js');
  const seed = await openDatabase(dbUrl);
  try {
    await createLegacySchema(seed.knex, 'postgres');
    for (let from = 121; from <= rows; from += 10_000) {
      const extra = Array.from({ length: Math.min(10_000, rows - from + 1) }, (_, k) =>
        customerRow(from + k),
      );
      await seed.knex.batchInsert('custmast', extra, 1000);
    }
    await seed.knex.raw('ANALYZE custmast');
  } finally {
    await seed.close();
  }
}

/** Child process: serve `mode` on a free loopback port and print READY <url>. */
async function serve(mode: string, dbUrl: string): Promise<void> {
  let close: () => Promise<void>;
  let url: string;
  if (mode === 'sluice') ({ url, close } = await startSluiceApi(dbUrl));
  else {
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
  announce(url, close);
}

/** A server under load: how to start it and the paths of both scenarios on it. */
export interface Contender {
  readonly name: string;
  readonly start: () => Promise<{ url: string; child: ChildProcess }>;
  readonly byKey: (i: number) => string;
  readonly list: () => string;
}

type Scenario = 'get' | 'list';
/** Per contender and scenario: the best round's load result, and the least CPU per request seen. */
export interface Measured {
  readonly best: Record<string, Record<Scenario, LoadResult>>;
  readonly leastCpu: Record<string, Partial<Record<Scenario, number>>>;
}

/**
 * Two rounds of each contender in turn (a, b, a, b), each keeping its best round, so that a burst
 * of load from elsewhere on the machine does not decide the ratio.
 */
export async function alternate(
  contenders: readonly Contender[],
  opts: BenchOptions,
  tag: string,
): Promise<Measured> {
  const ms = opts.quick ? 3_000 : 10_000;
  const max = opts.quick ? 30_000 : 200_000;
  const best: Measured['best'] = {};
  const leastCpu: Measured['leastCpu'] = {};
  const better = (a: LoadResult | undefined, b: LoadResult) => (a && a.rps >= b.rps ? a : b);
  for (let round = 0; round < 2; round++)
    for (const k of contenders) {
      const { url, child } = await k.start();
      try {
        // Warm-up of both scenarios (pools, JIT, plans), so that neither measures compilation.
        await load(url, k.byKey, 1_000, 5_000);
        await load(url, k.list, 500, 2_000);
        const get = await loadWithCpu(child.pid!, url, k.byKey, ms / 2, max);
        const lst = await loadWithCpu(child.pid!, url, k.list, ms / 2, max);
        best[k.name] = { get: better(best[k.name]?.get, get), list: better(best[k.name]?.list, lst) };
        const cpu = (leastCpu[k.name] ??= {});
        for (const [sc, r] of [
          ['get', get],
          ['list', lst],
        ] as const)
          if (r.cpuUs !== undefined) cpu[sc] = Math.min(cpu[sc] ?? Infinity, r.cpuUs);
        opts.log(
          `${tag} ${k.name} round ${round + 1}: get ${get.rps.toFixed(0)} req/s p99 ${get.p99ms.toFixed(2)} ms cpu ${get.cpuUs?.toFixed(0) ?? '?'} µs/req (${get.errors} errors); list ${lst.rps.toFixed(0)} req/s p99 ${lst.p99ms.toFixed(2)} ms cpu ${lst.cpuUs?.toFixed(0) ?? '?'} µs/req (${lst.errors} errors)`,
        );
      } finally {
        await stopServer(child);
      }
    }
  return { best, leastCpu };
}

/** Throughput, CPU per request and p99 of `subject` against `baseline`, per scenario. */
export function compare(
  m: Measured,
  tag: string,
  subject: string,
  baseline: string,
  baselineLabel: string,
): BenchResult[] {
  const results: BenchResult[] = [];
  for (const [scenario, label] of [
    ['get', 'GET by key'],
    ['list', 'filtered list (50 rows)'],
  ] as const) {
    const s = m.best[subject]![scenario];
    const b = m.best[baseline]![scenario];
    const extra = { requests: s.requests, errors: s.errors, baselineErrors: b.errors, concurrency };
    // value, unit, baseline value, ratio (higher is better: CPU and latency are baseline/value).
    const figures: [string, number | undefined, string, number | undefined, boolean][] = [
      ['throughput', s.rps, 'req/s', b.rps, true],
      [
        'server CPU per request',
        m.leastCpu[subject]?.[scenario],
        'µs',
        m.leastCpu[baseline]?.[scenario],
        false,
      ],
      ['p99', s.p99ms, 'ms', b.p99ms, false],
    ];
    for (const [what, value, unit, base, higherIsBetter] of figures)
      if (value !== undefined && base !== undefined)
        results.push({
          name: `${tag} ${label} ${what}`,
          value,
          unit,
          baseline: { name: `${baselineLabel} (${label})`, value: base },
          ratio: higherIsBetter ? value / base : base / value,
          extra,
        });
  }
  return results;
}

export async function runRestBench(opts: BenchOptions): Promise<BenchResult[]> {
  const { TestPostgres } = await import('../test/support/postgres-server.js');
  const { custId } = await import('../test/fixtures/rest/legacy-db.js');
  const pg = await TestPostgres.start();
  try {
    await seedLegacy(pg.url(), rowCount);
    const paths = {
      byKey: (i: number) => `/api/customers/${custId(((i * 7919) % rowCount) + 1)}`,
      list: () => '/api/customers?active=eq.true&limit=50',
    };
    const contenders = (['bare', 'sluice'] as const).map((name) => ({
      name,
      start: () => startServer(name, [pg.url()]),
      ...paths,
    }));
    const m = await alternate(contenders, opts, 'rest');
    return compare(m, 'rest', 'sluice', 'bare', 'bare Hono route, same SQL');
  } finally {
    await pg.stop();
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0 && process.argv[1] === here)
  await serve(process.argv[serveAt + 1]!, process.argv[serveAt + 2]!);
else if (process.argv[1] === here) {
  const quick = process.argv.includes('--quick');
  const results = await runRestBench({ quick, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
