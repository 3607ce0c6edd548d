// The broker and the database restart mid-stream: the pipeline pauses, reconnects and resumes
// from its committed offset, and the stream still equals the database and the writer's count.
import { afterAll, beforeAll, test } from 'vitest';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { Writer } from '../support/writer.js';
import { expectClean, settleAndVerify } from './fault-support.js';

let h: Harness;
let rt: Runtime | null = null;

beforeAll(async () => {
  h = await Harness.start();
});

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

test('nats-server restarted twice mid-stream: nothing lost, nothing duplicated, order kept', async () => {
  await h.pg.query(Writer.ddl('items_n'));
  rt = await h.runInProcess(
    h.config({ name: 'natsrestart', tables: ['public.items_n'] }, { publish: { timeout: '2s' } }),
  );
  await h.waitStreaming(rt);
  const w = new Writer(h.pg.url(), 'items_n');
  w.start(150);
  await waitFor(async () => w.committed > 100, 'writes', 30_000);
  await h.nats.restart(1500);
  await waitFor(async () => w.committed > 400, 'more writes', 60_000);
  await h.nats.restart(500);
  await waitFor(async () => w.committed > 600, 'more writes', 60_000);
  expectClean(await settleAndVerify(h, 'nats-restart', 'natsrestart', 'items_n', w));
  await rt.stop();
  rt = null;
});

test('PostgreSQL restarted mid-stream: the source reconnects from its committed offset', async () => {
  await h.pg.query(Writer.ddl('items_p'));
  rt = await h.runInProcess(h.config({ name: 'pgrestart', tables: ['public.items_p'] }));
  await h.waitStreaming(rt);
  const w = new Writer(h.pg.url(), 'items_p');
  w.start(150);
  await waitFor(async () => w.committed > 100, 'writes', 30_000);
  await h.pg.restart();
  await waitFor(async () => w.committed > 400, 'more writes after the restart', 60_000);
  expectClean(await settleAndVerify(h, 'postgres-restart', 'pgrestart', 'items_p', w));
  await rt.stop();
  rt = null;
});

test('the stream reaches its max-bytes limit: publishing waits and retries, nothing lost or reordered', async () => {
  await h.pg.query(Writer.ddl('items_full'));
  // A stream of its own, small enough to fill within seconds.
  rt = await h.runInProcess(
    h.config(
      { name: 'full', tables: ['public.items_full'] },
      {
        stream: 'SLUICE_FULL',
        subjectPrefix: 'full',
        kvBucket: 'full_offsets',
        streamConfig: { maxBytes: '512kb' },
        publish: { timeout: '2s' },
      },
    ),
  );
  await h.waitStreaming(rt);
  const w = new Writer(h.pg.url(), 'items_full');
  w.start(150);
  const nc = await h.natsConnection();
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  const { metrics } = await import('../../src/util/metrics.js');
  const retries = async () =>
    (await metrics.publishRetries.get()).values.find((v) => v.labels.source === 'full')?.value ?? 0;
  await waitFor(async () => (await retries()) > 0, 'the stream to refuse an event', 60_000, 100);
  const stuckAt = (await jsm.streams.info('SLUICE_FULL')).state.messages;
  const committedAt = w.committed;
  await waitFor(async () => w.committed > committedAt + 300, 'writes while the stream is full', 60_000);
  // Still stuck: the full stream took nothing more, and dropped nothing old to make room.
  const info = await jsm.streams.info('SLUICE_FULL');
  if (info.state.messages !== stuckAt)
    throw new Error(`the full stream went from ${stuckAt} to ${info.state.messages} events`);
  if (info.state.first_seq !== 1) throw new Error('old events were discarded');
  // The operator raises the limit: publishing resumes where it stopped.
  await jsm.streams.update('SLUICE_FULL', { ...info.config, max_bytes: 64 * 1024 * 1024 });
  const events = async () => (await h.events('full', 'SLUICE_FULL', 'full')).length;
  await waitFor(async () => (await events()) > stuckAt + 100, 'publishing to resume', 60_000, 200);
  await w.stop();
  await h.pg.query(`INSERT INTO items_full VALUES (-1, -1, 'marker')`);
  await waitFor(
    async () =>
      (await h.events('full', 'SLUICE_FULL', 'full')).some(
        (e) => (e.event.after as { id?: number } | null)?.id === -1,
      ),
    'the marker',
    120_000,
    250,
  );
  const { readTableStates } = await import('../support/postgres-state.js');
  const { toVerifiedEvent, verifyStream } = await import('../support/stream-verifier.js');
  const all = (await h.events('full', 'SLUICE_FULL', 'full')).map((e) => toVerifiedEvent(e.event, e.key));
  const report = verifyStream(
    all,
    await readTableStates(h.pg.url(), ['public.items_full']),
    new Set(['public.items_full']),
  );
  const received = all.filter(
    (e) => !e.snapshot && (((e.after ?? e.before) as { id?: number } | null)?.id ?? 0) > 0,
  ).length;
  console.log(
    `fault max-bytes: changes made ${w.changes}, events received ${received}, lost ${report.lost}, duplicated ${report.duplicates}`,
  );
  expectClean({ ...report, scenario: 'max-bytes', changesMade: w.changes, changesReceived: received });
  await rt.stop();
  rt = null;
});
