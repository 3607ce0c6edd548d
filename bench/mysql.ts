// MariaDB binlog → JetStream (`mysql.cdc.backlog`), beside what the binlog library alone decodes
// from the same backlog and what mariadb-binlog reads of it, measured in the same run.
import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ZongJi from '@vlasky/zongji';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import mysql from 'mysql2/promise';
import { mariadbMissing, TestMariaDB } from '../test/support/mariadb-server.js';
import { TestNatsServer } from '../test/support/nats-server.js';
import { barePublish } from './bare-publisher.js';
import { backlogResult, drainTime, PUBLISH_WINDOW, profileArgs, SLUICE_ROOT, stopChild } from './cdc.js';
import type { BenchOptions, BenchResult } from './types.js';

const round = (x: number) => Math.round(x * 100) / 100;

/** zongji alone from `start` until `rows` inserted rows are decoded: seconds and CPU seconds. */
async function zongjiDecode(
  my: TestMariaDB,
  start: { file: string; pos: number },
  rows: number,
): Promise<{ seconds: number; cpuSeconds: number }> {
  const z = new ZongJi({ host: '127.0.0.1', port: my.port, user: 'root', dateStrings: true, timezone: 'Z' });
  let n = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((done, fail) => {
    z.on('error', fail);
    z.on('binlog', (e) => {
      if (e.getEventName() === 'writerows') n += (e as { rows: unknown[] }).rows.length;
      if (n >= rows) done();
    });
    z.start({
      serverId: 99,
      filename: start.file,
      position: start.pos,
      includeSchema: { sluice_test: ['bl'] },
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0);
  z.stop();
  return { seconds, cpuSeconds: (c.user + c.system) / 1e6 };
}

/** mariadb-binlog reading the same files to /dev/null (row events decoded to pseudo-SQL). */
function binlogToolSeconds(my: TestMariaDB, start: { file: string; pos: number }, files: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(
    'bash',
    [
      '-c',
      `mariadb-binlog --start-position=${start.pos} -v ${files.map((f) => join(my.dir, f)).join(' ')} > /dev/null`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`mariadb-binlog failed: ${r.stderr}`);
  return (performance.now() - t0) / 1000;
}

export async function runMysqlBench(opts: BenchOptions): Promise<BenchResult[]> {
  if (mariadbMissing) throw new Error(mariadbMissing);
  const rows = opts.quick ? 100_000 : 200_000;
  const perTxn = 1000;
  const [my, nats] = await Promise.all([TestMariaDB.start(), TestNatsServer.start()]);
  const nc = await connect({ servers: nats.url });
  const c = await mysql.createConnection(my.url());
  const file = join(my.dir, 'bench-mysql.json');
  const streamTotal = async () => {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info('SLUICE', { subjects_filter: 'sluice.mybl.>' });
    return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
  };
  try {
    await c.query('CREATE TABLE bl (id int PRIMARY KEY, payload varchar(64), grp int, at timestamp(6) NULL)');
    await writeFile(
      file,
      JSON.stringify({
        nats: { servers: nats.url, stream: 'SLUICE', kvBucket: 'bench_offsets' },
        sources: [
          { name: 'mybl', kind: 'mysql', url: my.url(), tables: ['sluice_test.bl'], snapshot: 'never' },
        ],
        log: { level: 'warn' },
      }),
    );
    const run = () =>
      spawn(
        process.execPath,
        [...profileArgs(), '--import', 'tsx', join(SLUICE_ROOT, 'src/cli/main.ts'), 'run', '-c', file],
        {
          cwd: SLUICE_ROOT,
          stdio: ['ignore', 'ignore', 'inherit'],
        },
      );
    // A first run commits the source's offset at the binlog's end (a probe row comes through),
    // so the second run starts before the backlog.
    let child = run();
    for (let probe = 0; ; probe--) {
      await c.query(`INSERT INTO bl VALUES (?, 'probe', 0, NOW(6))`, [probe]);
      const seen = await drainTime({ nc }, 'sluice.mybl.>', 1, 1000).then(
        () => true,
        () => false,
      );
      if (seen) break;
      if (probe < -120) throw new Error('sluice never streamed the probe rows');
    }
    await stopChild(child);
    const [[status]] = (await c.query('SHOW MASTER STATUS')) as unknown as [
      [{ File: string; Position: number }],
    ];
    const start = { file: status.File, pos: Number(status.Position) };
    opts.log(`  filling a ${rows}-row binlog backlog (${perTxn}-row transactions)…`);
    for (let from = 1; from <= rows; from += perTxn)
      await c.query(
        `INSERT INTO bl SELECT seq, MD5(seq), seq % 1000, NOW(6) FROM seq_${from}_to_${from + perTxn - 1}`,
      );
    const files = ((await c.query('SHOW BINARY LOGS')) as unknown as [{ Log_name: string }[]])[0]
      .map((l) => l.Log_name)
      .filter((f) => f >= start.file);
    opts.log('  zongji alone decoding it…');
    const bare = await zongjiDecode(my, start, rows);
    opts.log('  mariadb-binlog reading it to /dev/null…');
    const tool = binlogToolSeconds(my, start, files);
    opts.log('  sluice draining it…');
    child = run();
    let t: Awaited<ReturnType<typeof drainTime>>;
    try {
      const probes = await streamTotal();
      t = await drainTime({ nc }, 'sluice.mybl.>', rows + probes, 600_000, child.pid);
    } finally {
      await stopChild(child);
    }
    opts.log('  bare JetStream publisher sending the same events (the transport ceiling)…');
    const ceiling = await barePublish(nats.url, 'SLUICE', 'sluice', 'mybl', PUBLISH_WINDOW);
    return [
      backlogResult(
        'mysql.cdc.backlog',
        { rows, perTxn, drain: t },
        { name: '@vlasky/zongji decode alone', seconds: bare.seconds },
        {
          zongjiCpuUsPerRow: round((bare.cpuSeconds * 1e6) / rows),
          mariadbBinlogRowsPerSecond: Math.round(rows / tool),
          // Probe rows included: the ceiling publishes every event the stream holds for the source.
          bareJetStreamRowsPerSecond: Math.round(ceiling.rows / ceiling.seconds),
          bareCpuUsPerRow: round((ceiling.cpuSeconds * 1e6) / ceiling.rows),
          ratioToCeiling: round(t.seconds > 0 ? ceiling.seconds / ceiling.rows / (t.seconds / rows) : NaN),
        },
      ),
    ];
  } finally {
    await c.end();
    await nc.close();
    await Promise.all([my.stop(), nats.stop()]);
  }
}
