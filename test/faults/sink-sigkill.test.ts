// SIGKILL the process running a sink at random moments while a writer changes the source, restart
// it each time, then prove the target equals the source value for value and that the position
// table accounts for every event of the stream exactly once (no gap, no duplicate).
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { runVerify } from '../../src/sink/verify-run.js';
import { POSITION_TABLE } from '../../src/sink/sink-position.js';
import { postgresDialect } from '../../src/sql/postgres/postgres-dialect.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { Writer } from '../support/writer.js';
import { exited } from './fault-support.js';

let h: Harness;
let rt: Runtime | null = null;
let child: ChildProcess | null = null;
let target: Knex;

beforeAll(async () => {
  h = await Harness.start();
  await h.pg.query(Writer.ddl('items'));
  await h.pg.query('CREATE DATABASE newdb');
  target = knexFactory(await postgresDialect.knexConfig(h.pg.url('newdb')));
  await target.schema.createTable('products', (t) => {
    t.integer('item_id').primary();
    t.integer('value').notNullable();
    t.text('note');
  });
}, 60_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await rt?.stop();
  await target?.destroy();
  await h?.stop();
});

test(
  'the sink SIGKILLed under load: the target equals the source and the position has no gap',
  { timeout: 180_000 },
  async () => {
    const source = { name: 'erp', tables: ['public.items'] };
    const nats = { leaseTtl: '1s' };
    // The source runs here; the child runs the sink (its copy of the source waits on the lease).
    rt = await h.runInProcess(h.config(source, nats));
    await h.waitStreaming(rt);
    const sink = {
      name: 'newdb',
      url: h.pg.url('newdb'),
      from: 'erp',
      batchSize: 200,
      tables: { 'public.items': { table: 'products', columns: { id: 'item_id', v: 'value' } } },
    };
    const file = await h.writeConfig({ ...h.rawConfig(source, nats), sinks: [sink] });
    child = h.spawnSluice(file);
    const writer = new Writer(h.pg.url(), 'items');
    writer.start(300);
    const applied = async () =>
      Number(
        (
          await target(POSITION_TABLE)
            .where({ sink: 'newdb' })
            .first()
            .catch(() => null)
        )?.stream_seq ?? 0,
      );
    let kills = 0;
    while (kills < 5) {
      // Each kill lands while this process is applying: its position has moved since it started.
      const before = await applied();
      await waitFor(async () => (await applied()) > before, 'the sink applying', 60_000, 20);
      await new Promise((r) => setTimeout(r, Math.random() * 300));
      child.kill('SIGKILL');
      await exited(child);
      kills++;
      child = h.spawnSluice(file);
    }
    await writer.stop();
    expect(writer.changes).toBeGreaterThan(0);
    await h.pg.query(`INSERT INTO items VALUES (-1, -1, 'marker')`);
    await waitFor(
      async () => {
        if (child!.exitCode !== null) throw new Error(`sluice exited with ${child!.exitCode}`);
        return (await target('products').where({ item_id: -1 }).first()) !== undefined;
      },
      'the marker in the target',
      120_000,
      200,
    );

    const src = await h.pg.query<{ id: number; v: number; note: string | null }>(
      'SELECT id, v, note FROM items ORDER BY id',
    );
    const dst = await target('products').select('item_id', 'value', 'note').orderBy('item_id');
    expect(dst.map((r) => ({ id: r.item_id, v: r.value, note: r.note }))).toEqual(src);

    // Every event of the source up to the stored sequence was accounted for exactly once.
    const jsm = await jetstreamManager(await h.natsConnection());
    const pos = await target(POSITION_TABLE).where({ sink: 'newdb' }).first();
    const upTo = Number(pos.stream_seq);
    const last = await jsm.streams.getMessage('SLUICE', { last_by_subj: 'sluice.erp.>' });
    expect(upTo).toBe(last!.seq);
    const info = await jsm.streams.info('SLUICE', { subjects_filter: 'sluice.erp.>' });
    const inStream = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    expect(Number(pos.events)).toBe(inStream);
    console.log(
      `sink SIGKILL: ${kills} kills, ${writer.changes} changes, ${inStream} events, ${src.length} rows equal`,
    );

    // `sluice verify` finds the two databases equal.
    const verified = await runVerify(
      parseConfig({ ...h.rawConfig(source, nats), sinks: [sink] }),
      'erp',
      'newdb',
      {
        chunkSize: 1000,
        leafSize: 64,
        waitMs: 0,
        streamSeq: async () => upTo,
      },
    );
    expect(verified.equal).toBe(true);
    expect(verified.tables[0]).toMatchObject({
      mode: 'checksum',
      sourceRows: src.length,
      targetRows: src.length,
    });

    // `sluice status` shows the sink, its position and lag.
    const root = resolve(import.meta.dirname, '../..');
    const st = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'status', '-c', file, '--json'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    const rows = JSON.parse(st.stdout) as Record<string, unknown>[];
    expect(rows.find((r) => r.sink === 'newdb')).toMatchObject({
      state: 'applying',
      streamSeq: upTo,
      eventsApplied: inStream,
      lagEvents: 0,
    });
  },
);
