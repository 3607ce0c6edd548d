// Sink figures, each beside a baseline measured in the same run on the same PostgreSQL:
// - sink.apply: events/s a sink applies into PostgreSQL from a backlog already in the stream
//   (200k events; 20k with --quick), from start to the position reaching the last event, vs a bare
//   batched `INSERT … ON CONFLICT DO UPDATE` of the same rows through the same driver (pg via knex),
//   500 rows per statement, one statement per transaction.
import { jetstream } from '@nats-io/jetstream';
import { connect, headers } from '@nats-io/transport-node';
import knexFactory from 'knex';
import { parseConfig } from '../src/config/load.js';
import type { Logger } from '../src/core/source-adapter.js';
import { provision } from '../src/nats/provision.js';
import { SinkRunner } from '../src/sink/sink-runner.js';
import { metrics } from '../src/util/metrics.js';
import { postgresDialect } from '../src/sql/postgres/postgres-dialect.js';
import { TestNatsServer } from '../test/support/nats-server.js';
import { TestPostgres } from '../test/support/postgres-server.js';
import type { BenchOptions, BenchResult } from './types.js';

/** CPU seconds (user + system) this process used since `from`. */
function cpuSecondsSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

const quiet: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

export async function runSinkBench(o: BenchOptions): Promise<BenchResult[]> {
  const n = o.quick ? 20_000 : 200_000;
  const [pg, nats] = await Promise.all([TestPostgres.start(), TestNatsServer.start()]);
  const nc = await connect({ servers: nats.url });
  try {
    await pg.query('CREATE DATABASE target');
    for (const t of ['items', 'bare'])
      await pg.query(`CREATE TABLE ${t} (id int PRIMARY KEY, v int NOT NULL, note text)`, [], 'target');
    const cfg = parseConfig({
      nats: { servers: nats.url },
      sources: [{ name: 'erp', kind: 'postgres', url: pg.url(), tables: ['public.items'] }],
      sinks: [
        {
          name: 'bench',
          url: pg.url('target'),
          from: 'erp',
          batchSize: Number(process.env.SINK_BATCH ?? 500),
        },
      ],
    });
    const { jsm, kv } = await provision(nc, cfg.nats);
    o.log(`sink: publishing ${n} events`);
    const js = jetstream(nc);
    const rows = Array.from({ length: n }, (_, i) => ({ id: i + 1, v: i, note: `legacy note ${i}` }));
    for (let i = 0; i < n; i += 2000) {
      await Promise.all(
        rows.slice(i, i + 2000).map((r, j) => {
          const event = {
            before: null,
            after: r,
            source: {
              version: '0.1.0',
              connector: 'postgres',
              name: 'erp',
              ts_ms: 0,
              snapshot: 'false',
              db: 'erp',
              schema: 'public',
              table: 'items',
              lsn: `0/${i + j}`,
            },
            op: 'c',
            ts_ms: 0,
          };
          const h = headers();
          h.set('Sluice-Key', JSON.stringify({ id: r.id }));
          h.set('Content-Type', 'application/json');
          return js.publish('sluice.erp.public.items.c', JSON.stringify(event), {
            msgID: `erp:0/${i + j}:0`,
            headers: h,
          });
        }),
      );
    }
    const last = (await jsm.streams.info('SLUICE')).state.last_seq;

    o.log('sink: applying the backlog');
    const runner = new SinkRunner({
      cfg: cfg.sinks[0]!,
      nc,
      jsm,
      kv,
      stream: 'SLUICE',
      prefix: 'sluice',
      leaseTtlMs: 10_000,
      log: quiet,
    });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const run = runner.run();
    while ((runner.position?.seq ?? 0) < last) await new Promise((r) => setTimeout(r, 5));
    const sinkSeconds = (performance.now() - t0) / 1000;
    const sinkCpu = cpuSecondsSince(cpu0);
    runner.stop();
    await run;
    const hist = await metrics.sinkBatchSeconds.get();
    const batches = hist.values.find((v) => v.metricName === 'sluice_sink_batch_seconds_count')?.value ?? 0;
    const batchSum = hist.values.find((v) => v.metricName === 'sluice_sink_batch_seconds_sum')?.value ?? 0;

    o.log('sink: bare batched INSERT … ON CONFLICT');
    const knex = knexFactory(await postgresDialect.knexConfig(pg.url('target')));
    const cpu1 = process.cpuUsage();
    const t1 = performance.now();
    for (let i = 0; i < n; i += 500)
      await knex.transaction((trx) =>
        trx('bare')
          .insert(rows.slice(i, i + 500))
          .onConflict('id')
          .merge(['v', 'note']),
      );
    const bareSeconds = (performance.now() - t1) / 1000;
    const bareCpu = cpuSecondsSince(cpu1);
    await knex.destroy();
    const value = Math.round(n / sinkSeconds);
    const baseline = Math.round(n / bareSeconds);
    return [
      {
        name: 'sink.apply',
        value,
        unit: 'events/s',
        baseline: { name: 'bare batched INSERT … ON CONFLICT', value: baseline },
        ratio: value / baseline,
        extra: {
          events: n,
          batches,
          applySeconds: batchSum.toFixed(2),
          totalSeconds: sinkSeconds.toFixed(2),
          // This process's CPU (the sink or the bare loop; PostgreSQL and nats-server are other
          // processes): less sensitive to a loaded machine than the rates.
          sinkCpuUsPerEvent: Math.round((sinkCpu * 1e6) / n),
          bareCpuUsPerEvent: Math.round((bareCpu * 1e6) / n),
        },
      },
    ];
  } finally {
    await nc.close();
    await Promise.all([pg.stop(), nats.stop()]);
  }
}
