// The broker and the database restart mid-stream: the pipeline pauses, reconnects and resumes
// from its committed offset, and the stream still equals the database.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readTableStates } from '../../adapters/postgres/postgres-state.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { toVerifiedEvent, verifyStream } from '../../src/verify/stream-verifier.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { Writer } from '../support/writer.js';

let h: Harness;
let rt: Runtime | null = null;

beforeAll(async () => {
  h = await Harness.start();
});

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

async function settleAndVerify(table: string, source: string, writer: Writer) {
  await writer.stop();
  await h.pg.query(`INSERT INTO ${table} VALUES (-1, -1, 'marker')`);
  await waitFor(
    async () => (await h.events(source)).some((e) => (e.event.after as { id?: number } | null)?.id === -1),
    'marker',
    120_000,
    250,
  );
  const events = (await h.events(source)).map((e) => toVerifiedEvent(e.event, e.key));
  const report = verifyStream(
    events,
    await readTableStates(h.pg.url(), [`public.${table}`]),
    new Set([`public.${table}`]),
  );
  expect(report.examples).toEqual([]);
  expect(report.duplicates).toBe(0);
  expect(report.lost).toBe(0);
  return events;
}

test('nats-server restarted mid-stream: nothing lost, nothing duplicated, order kept', async () => {
  await h.pg.query(Writer.ddl('items_n'));
  rt = await h.runInProcess(
    h.config({ name: 'natsrestart', tables: ['public.items_n'] }, { publish: { timeout: '2s' } }),
  );
  const w = new Writer(h.pg.url(), 'items_n');
  w.start(150);
  await waitFor(async () => w.committed > 100, 'writes', 30_000);
  await h.nats.restart(1500);
  await waitFor(async () => w.committed > 400, 'more writes', 60_000);
  await h.nats.restart(500);
  await waitFor(async () => w.committed > 600, 'more writes', 60_000);
  const events = await settleAndVerify('items_n', 'natsrestart', w);
  expect(events.length).toBeGreaterThan(1200);
  await rt.stop();
  rt = null;
});

test('PostgreSQL restarted mid-stream: the source reconnects from its committed offset', async () => {
  await h.pg.query(Writer.ddl('items_p'));
  rt = await h.runInProcess(h.config({ name: 'pgrestart', tables: ['public.items_p'] }));
  const w = new Writer(h.pg.url(), 'items_p');
  w.start(150);
  await waitFor(async () => w.committed > 100, 'writes', 30_000);
  await h.pg.restart();
  await waitFor(async () => w.committed > 400, 'more writes after the restart', 60_000);
  const events = await settleAndVerify('items_p', 'pgrestart', w);
  expect(events.length).toBeGreaterThan(800);
  await rt.stop();
  rt = null;
});
