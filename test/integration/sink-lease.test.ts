// Two processes configured with the same sink take turns through its lease: one applies, the other
// waits; when the first stops, the second takes over from the position in the target, and the
// target ends equal to the source with every event accounted for once.
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { POSITION_TABLE } from '../../src/sink/sink-position.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';

let h: Harness;
const runtimes: Runtime[] = [];

beforeAll(async () => {
  h = await Harness.start();
  await h.pg.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)');
  await h.pg.query('CREATE DATABASE newdb');
  await h.pg.query('CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL)', [], 'newdb');
}, 60_000);

afterAll(async () => {
  for (const rt of runtimes) await rt.stop();
  await h?.stop();
});

test(
  'one sink, two processes: one applies at a time, the other takes over',
  { timeout: 120_000 },
  async () => {
    const cfg = parseConfig({
      ...h.rawConfig({ name: 'erp', tables: ['public.items'] }, { leaseTtl: '1s' }),
      sinks: [{ name: 'newdb', url: h.pg.url('newdb'), from: 'erp', batchSize: 20 }],
    });
    const a = await h.runInProcess(cfg);
    runtimes.push(a);
    await h.waitStreaming(a);
    const b = await h.runInProcess(cfg);
    runtimes.push(b);
    await h.pg.query('INSERT INTO items SELECT g, g FROM generate_series(1, 500) g');
    await waitFor(
      async () => (await h.pg.query('SELECT count(*)::int AS n FROM items', [], 'newdb'))[0]!.n === 500,
      'the first 500 rows',
      30_000,
    );
    const states = () => [a.sinks[0]!.state, b.sinks[0]!.state].sort();
    expect(states()).toEqual(['applying', 'waiting']);
    const holder = a.sinks[0]!.state === 'applying' ? a : b;
    const standby = holder === a ? b : a;
    await holder.stop();
    await h.pg.query(
      'UPDATE items SET v = v + 1 WHERE id % 2 = 0; INSERT INTO items SELECT g, g FROM generate_series(501, 600) g',
    );
    await waitFor(async () => standby.sinks[0]!.state === 'applying', 'the standby applying', 30_000);
    await waitFor(
      async () => {
        const [src, dst] = await Promise.all([
          h.pg.query('SELECT id, v FROM items ORDER BY id'),
          h.pg.query('SELECT id, v FROM items ORDER BY id', [], 'newdb'),
        ]);
        return JSON.stringify(src) === JSON.stringify(dst);
      },
      'target equal to the source',
      30_000,
      200,
    );
    const jsm = await jetstreamManager(await h.natsConnection());
    const info = await jsm.streams.info('SLUICE', { subjects_filter: 'sluice.erp.>' });
    const inStream = Object.values(info.state.subjects ?? {}).reduce((x, y) => x + y, 0);
    const [pos] = await h.pg.query(`SELECT events FROM ${POSITION_TABLE} WHERE sink = 'newdb'`, [], 'newdb');
    expect(Number(pos!.events)).toBe(inStream);
  },
);
