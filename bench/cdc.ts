// PostgreSQL → JetStream figures, each beside a baseline measured in the same run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { TestNatsServer } from '../test/support/nats-server.js';
import { TestPostgres } from '../test/support/postgres-server.js';
import { barePublish } from './bare-publisher.js';
import { cpuSeconds, peakRssBytes } from './proc.js';
import type { BenchOptions, BenchResult } from './types.js';

const ROOT = resolve(import.meta.dirname, '..');
/** SLUICE_BENCH_ROOT=dir runs the sluice of another checkout (e.g. an older commit) against this bench. */
export const SLUICE_ROOT = process.env.SLUICE_BENCH_ROOT ?? ROOT;

interface Env {
  pg: TestPostgres;
  nats: TestNatsServer;
  nc: NatsConnection;
  dir: string;
}

async function setup(): Promise<Env> {
  const [pgs, nats] = await Promise.all([TestPostgres.start(), TestNatsServer.start()]);
  const nc = await connect({ servers: nats.url });
  return { pg: pgs, nats, nc, dir: pgs.dir };
}

async function teardown(env: Env): Promise<void> {
  await env.nc.close();
  await Promise.all([env.pg.stop(), env.nats.stop()]);
}

/** SLUICE_BENCH_PROFILE=dir writes a CPU profile of each sluice process there (node --cpu-prof). */
export function profileArgs(): string[] {
  const dir = process.env.SLUICE_BENCH_PROFILE;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

function spawnSluice(
  env: Env,
  name: string,
  tables: string[],
  extra: Record<string, unknown> = {},
): Promise<ChildProcess> {
  const file = join(env.dir, `bench-${name}.yaml`);
  const cfg = {
    nats: { servers: env.nats.url, stream: 'SLUICE', kvBucket: 'bench_offsets' },
    sources: [{ name, kind: 'postgres', url: env.pg.url(), tables, heartbeatInterval: '5s', ...extra }],
    log: { level: 'warn' },
  };
  return writeFile(file, JSON.stringify(cfg)).then(() =>
    spawn(
      process.execPath,
      [...profileArgs(), '--import', 'tsx', join(SLUICE_ROOT, 'src/cli/main.ts'), 'run', '-c', file],
      {
        cwd: SLUICE_ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    ),
  );
}

export async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  const t0 = performance.now();
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await done;
  clearTimeout(t);
  if (process.env.SLUICE_BENCH_PROFILE)
    process.stderr.write(
      `  sluice stopped in ${Math.round(performance.now() - t0)} ms (${p.signalCode ?? p.exitCode})\n`,
    );
}

/** Peak resident set size of a live process, in MB. */
function peakRssMb(pid: number): number {
  return (peakRssBytes(pid) ?? NaN) / 2 ** 20;
}

async function streamCount(env: Pick<Env, 'nc'>, subject: string): Promise<number> {
  const jsm = await jetstreamManager(env.nc);
  const info = await jsm.streams.info('SLUICE', { subjects_filter: subject }).catch(() => null);
  return info ? Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0) : 0;
}

/**
 * Polls until `n` events of `subject` are stored; returns the time between the first and the last,
 * and the CPU time process `pid` used in between (a figure the machine's other load moves less).
 */
const cpuOf = (pid: number | undefined) => (pid === undefined ? NaN : (cpuSeconds(pid) ?? NaN));

export async function drainTime(
  env: Pick<Env, 'nc'>,
  subject: string,
  n: number,
  timeoutMs: number,
  pid?: number,
): Promise<{ seconds: number; first: number; last: number; cpuSeconds: number }> {
  const deadline = Date.now() + timeoutMs;
  let first = 0;
  let cpuAtFirst = NaN;
  while (Date.now() < deadline) {
    const c = await streamCount(env, subject);
    const now = performance.now();
    if (c > 0 && first === 0) {
      first = now;
      cpuAtFirst = cpuOf(pid);
    }
    if (c >= n)
      return { seconds: (now - first) / 1000, first, last: now, cpuSeconds: cpuOf(pid) - cpuAtFirst };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`only ${await streamCount(env, subject)} of ${n} events after ${timeoutMs} ms`);
}

function pgRecvlogical(): string | null {
  const r = spawnSync(
    'bash',
    ['-c', 'ls /usr/lib/postgresql/*/bin/pg_recvlogical 2>/dev/null | tail -1; command -v pg_recvlogical'],
    { encoding: 'utf8' },
  );
  return r.stdout.split('\n').find((l) => l.trim()) ?? null;
}

/** pg_recvlogical drains the slot with pgoutput to /dev/null: PostgreSQL's own decode rate. */
function recvlogicalDrain(env: Env, slot: string, publication: string, endLsn: string): number {
  const bin = pgRecvlogical();
  if (!bin) throw new Error('pg_recvlogical not found (apt-get install postgresql-client)');
  const u = new URL(env.pg.url());
  const t0 = performance.now();
  const r = spawnSync(
    bin,
    [
      '-h',
      u.hostname,
      '-p',
      u.port,
      '-U',
      'postgres',
      '-d',
      'postgres',
      '--slot',
      slot,
      '--start',
      '--endpos',
      endLsn,
      '-o',
      'proto_version=1',
      '-o',
      `publication_names=${publication}`,
      '-f',
      '/dev/null',
      '--no-loop',
    ],
    { env: { ...process.env, PGPASSWORD: 'postgres' }, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`pg_recvlogical failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

async function fillBacklog(env: Env, table: string, rows: number, perTxn: number): Promise<string> {
  const c = await env.pg.client();
  try {
    if (perTxn >= 100) {
      for (let i = 0; i < rows; i += perTxn)
        await c.query(
          `INSERT INTO ${table} SELECT g, md5(g::text), g % 1000, now() FROM generate_series($1::int, $2::int) g`,
          [i + 1, Math.min(rows, i + perTxn)],
        );
    } else {
      // Single-row transactions, pipelined through several connections to fill the backlog quickly.
      const conns = [c, ...(await Promise.all([1, 2, 3].map(() => env.pg.client())))];
      for (const cc of conns) cc.on('error', () => {});
      const per = Math.ceil(rows / conns.length);
      await Promise.all(
        conns.map(async (cc, k) => {
          for (let i = k * per + 1; i <= Math.min(rows, (k + 1) * per); i++)
            await cc.query(`INSERT INTO ${table} VALUES ($1::int, md5($1::text), $1::int % 1000, now())`, [
              i,
            ]);
        }),
      );
      await Promise.all(conns.slice(1).map((cc) => cc.end()));
    }
    return (await c.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
  } finally {
    await c.end().catch(() => {});
  }
}

async function backlog(
  env: Env,
  name: string,
  rows: number,
  perTxn: number,
  log: (s: string) => void,
): Promise<BenchResult> {
  const table = `bl_${name}`;
  await env.pg.query(`CREATE TABLE ${table} (id int PRIMARY KEY, payload text, grp int, at timestamptz)`);
  await env.pg.query(`CREATE PUBLICATION pub_${name} FOR TABLE ${table}`);
  await env.pg.query(`SELECT pg_create_logical_replication_slot('sluice_${name}', 'pgoutput')`);
  await env.pg.query(`SELECT pg_create_logical_replication_slot('base_${name}', 'pgoutput')`);
  log(`  filling a ${rows}-row backlog (${perTxn}-row transactions)…`);
  const end = await fillBacklog(env, table, rows, perTxn);
  log('  pg_recvlogical draining its own slot…');
  const baseSeconds = recvlogicalDrain(env, `base_${name}`, `pub_${name}`, end);
  log('  sluice draining…');
  const child = await spawnSluice(env, name, [`public.${table}`], {
    snapshot: 'never',
    slot: `sluice_${name}`,
    publication: `pub_${name}`,
    createPublication: false,
  });
  let t: Awaited<ReturnType<typeof drainTime>>;
  try {
    t = await drainTime(env, `sluice.${name}.>`, rows, 600_000, child.pid);
  } finally {
    await stopChild(child);
  }
  log('  bare JetStream publisher sending the same events (the transport ceiling)…');
  const bare = await barePublish(env.nats.url, 'SLUICE', 'sluice', name, PUBLISH_WINDOW);
  if (bare.rows !== rows) throw new Error(`the bare publisher read ${bare.rows} of ${rows} events back`);
  return backlogResult(
    perTxn >= 100 ? 'pg.cdc.backlog' : 'pg.cdc.backlog.small_txn',
    { rows, perTxn, drain: t },
    { name: 'bare JetStream publisher, same events and window', seconds: bare.seconds },
    {
      bareCpuUsPerRow: round((bare.cpuSeconds * 1e6) / rows),
      pgRecvlogicalRowsPerSecond: Math.round(rows / baseSeconds),
      ratioToPgRecvlogical: round(baseSeconds / Math.max(t.seconds, 1e-3)),
    },
  );
}

/** nats.publish.window's default: the bare publisher keeps as many in flight as Sluice does. */
export const PUBLISH_WINDOW = 2048;

/** A backlog's drain rate beside the rate of a baseline reading the same backlog. */
export function backlogResult(
  name: string,
  run: { rows: number; perTxn: number; drain: { seconds: number; cpuSeconds: number } },
  base: { name: string; seconds: number },
  extra: Record<string, number> = {},
): BenchResult {
  const { rows, drain } = run;
  const value = rows / Math.max(drain.seconds, 1e-3);
  const baseline = rows / base.seconds;
  return {
    name,
    value: Math.round(value),
    unit: 'rows/s',
    baseline: { name: base.name, value: Math.round(baseline) },
    ratio: round(value / baseline),
    extra: {
      rows,
      rowsPerTxn: run.perTxn,
      seconds: round(drain.seconds),
      sluiceCpuUsPerRow: round((drain.cpuSeconds * 1e6) / rows),
      ...extra,
    },
  };
}

/** Commit (as the writer saw it return) → event seen by a JetStream subscriber, at a steady rate. */
async function latency(
  env: Env,
  rate: number,
  seconds: number,
  log: (s: string) => void,
): Promise<BenchResult> {
  const name = `lat${rate}`;
  const table = `lt_${rate}`;
  await env.pg.query(`CREATE TABLE ${table} (id int PRIMARY KEY, payload text, grp int, at timestamptz)`);
  const child = await spawnSluice(env, name, [`public.${table}`], { snapshot: 'never' });
  const committedAt = new Map<number, number>();
  const seenAt = new Map<number, number>();
  const sub = env.nc.subscribe(`sluice.${name}.>`, {
    callback: (_e, m) => {
      const id = m.json<{ after: { id: number } }>().after.id;
      if (!seenAt.has(id)) seenAt.set(id, performance.now());
    },
  });
  const c = await env.pg.client();
  try {
    // Wait until sluice streams (its slot exists only once it runs): probe rows until one comes through.
    let probe = 0;
    for (let i = 0; i < 600 && seenAt.size === 0; i++) {
      if (i % 10 === 0) await c.query(`INSERT INTO ${table} VALUES ($1, 'probe', 0, now())`, [--probe]);
      await new Promise((r) => setTimeout(r, 50));
    }
    seenAt.clear();
    log(`  ${rate} rows/s for ${seconds} s…`);
    // Batches of rows every 10 ms, one transaction each: a steady `rate`.
    const perTick = Math.max(1, Math.round(rate / 100));
    let insertMs = 0;
    const start = performance.now();
    let id = 1;
    for (let tick = 0; tick < seconds * 100; tick++) {
      const due = start + tick * 10;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const ids = Array.from({ length: perTick }, () => id++);
      const q0 = performance.now();
      await c.query(`INSERT INTO ${table} SELECT g, 'x', 0, now() FROM unnest($1::int[]) g`, [ids]);
      const t = performance.now();
      insertMs += t - q0;
      for (const i of ids) committedAt.set(i, t);
    }
    const total = id - 1;
    const achieved = total / ((performance.now() - start) / 1000);
    log(`  mean insert ${round(insertMs / (seconds * 100))} ms`);
    for (let i = 0; i < 400 && seenAt.size < total; i++) await new Promise((r) => setTimeout(r, 50));
    const lat = [...committedAt]
      .map(([i, t]) => (seenAt.get(i) ?? NaN) - t)
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    const q = (p: number) => round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN);
    return {
      name: `pg.cdc.latency.${rate >= 1000 ? `${rate / 1000}k` : rate}`,
      value: q(0.99),
      unit: 'ms p99',
      baseline: null,
      ratio: null,
      extra: {
        p50: q(0.5),
        p99: q(0.99),
        max: round(lat[lat.length - 1] ?? NaN),
        rows: total,
        received: lat.length,
        offeredRowsPerSecond: Math.round(achieved),
      },
    };
  } finally {
    sub.unsubscribe();
    await c.end();
    await stopChild(child);
  }
}

/** Peak RSS of the sluice process while it snapshots a large table, beside an idle sluice's. */
async function snapshotRss(env: Env, rows: number, log: (s: string) => void): Promise<BenchResult> {
  await env.pg.query(`CREATE TABLE snap (id int PRIMARY KEY, payload text, grp int, at timestamptz);
    INSERT INTO snap SELECT g, md5(g::text) || md5((g+1)::text), g % 1000, now() FROM generate_series(1, ${rows}) g;
    CREATE TABLE idle (id int PRIMARY KEY);`);
  log(`  idle sluice (baseline)…`);
  const idle = await spawnSluice(env, 'idle', ['public.idle']);
  await new Promise((r) => setTimeout(r, 4000));
  const idleRss = peakRssMb(idle.pid!);
  await stopChild(idle);
  log(`  snapshot of ${rows} rows…`);
  const child = await spawnSluice(env, 'snap', ['public.snap']);
  try {
    const t = await drainTime(env, 'sluice.snap.>', rows, 900_000);
    const rss = peakRssMb(child.pid!);
    return {
      name: 'pg.snapshot.rss',
      value: Math.round(rss),
      unit: 'MB peak RSS',
      baseline: { name: 'idle sluice process', value: Math.round(idleRss) },
      ratio: round(rss / idleRss),
      extra: { rows, seconds: round(t.seconds), rowsPerSecond: Math.round(rows / t.seconds) },
    };
  } finally {
    await stopChild(child);
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

export async function runCdcBench(opts: BenchOptions): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  const steps: [string, (env: Env) => Promise<BenchResult>][] = [
    [
      'backlog, 1000-row transactions',
      (env) => backlog(env, 'big', opts.quick ? 100_000 : 200_000, 1000, opts.log),
    ],
    [
      'backlog, single-row transactions',
      // SLUICE_BENCH_SMALL_TXN_ROWS=N: a longer drain when comparing CPU per row on a loaded machine.
      (env) =>
        backlog(
          env,
          'small',
          Number(process.env.SLUICE_BENCH_SMALL_TXN_ROWS) || (opts.quick ? 20_000 : 200_000),
          1,
          opts.log,
        ),
    ],
    ['latency at 2k rows/s', (env) => latency(env, 2000, opts.quick ? 5 : 15, opts.log)],
    ['latency at 10k rows/s', (env) => latency(env, 10_000, opts.quick ? 5 : 15, opts.log)],
    [
      'snapshot peak RSS',
      // SLUICE_BENCH_SNAPSHOT_ROWS=N checks that the peak does not grow with the table's size.
      (env) =>
        snapshotRss(
          env,
          Number(process.env.SLUICE_BENCH_SNAPSHOT_ROWS) || (opts.quick ? 200_000 : 1_000_000),
          opts.log,
        ),
    ],
  ];
  const pick = process.env.SLUICE_BENCH_STEPS?.split(',');
  for (const [what, step] of steps) {
    if (pick && !pick.some((p) => what.includes(p))) continue;
    opts.log(`pg: ${what}`);
    const env = await setup();
    try {
      results.push(await step(env));
    } catch (err) {
      opts.log(`  failed: ${(err as Error).message}`);
    } finally {
      await teardown(env);
    }
  }
  return results;
}
