// A 100k-row transaction arrives whole, in order, once; transactions across tables keep commit order.
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { Harness } from '../support/harness.js';

let h: Harness;
let rt: Runtime;

beforeAll(async () => {
  h = await Harness.start();
  await h.pg.query(
    `CREATE TABLE big (id int PRIMARY KEY, payload text); CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY);`,
  );
  rt = await h.runInProcess(h.config({ name: 'large', tables: ['public.big', 'public.a', 'public.b'] }));
  await h.waitStreaming(rt);
});

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

test('a 100k-row transaction: every row once, in order, one transaction id, total_order 1..100000', async () => {
  await h.pg.query(`INSERT INTO big SELECT g, md5(g::text) FROM generate_series(1, 100000) g`);
  const evs = await h.waitForEvents('large', 100_000, 120_000);
  expect(evs).toHaveLength(100_000);
  const ids = evs.map((e) => (e.event.after as { id: number }).id);
  expect(ids).toEqual(Array.from({ length: 100_000 }, (_, i) => i + 1));
  const tx = evs.map((e) => e.event.transaction as { id: string; total_order: number });
  expect(new Set(tx.map((t) => t.id)).size).toBe(1);
  expect(tx[99_999]!.total_order).toBe(100_000);
  expect(new Set(evs.map((e) => e.msgId)).size).toBe(100_000);
});

test('interleaved transactions on two tables arrive in commit order, not statement order', async () => {
  const c1 = await h.pg.client();
  const c2 = await h.pg.client();
  await c1.query('BEGIN');
  await c1.query('INSERT INTO a VALUES (1)'); // first statement, commits last
  await c2.query('BEGIN');
  await c2.query('INSERT INTO b VALUES (1)');
  await c2.query('COMMIT');
  await c1.query('INSERT INTO b VALUES (2)');
  await c1.query('COMMIT');
  await c1.end();
  await c2.end();
  const evs = (await h.waitForEvents('large', 100_003)).slice(100_000);
  expect(
    evs.map((e) => `${(e.event.source as { table: string }).table}:${(e.event.after as { id: number }).id}`),
  ).toEqual(['b:1', 'a:1', 'b:2']);
});
