// Issue 10 item 3: a polling diff source restarted from its committed offset must neither lose nor
// skip a change, whatever the previous run had published (and JetStream deduplicated) beyond it.
// Deterministic: real SQLite and nats-server, and the pipeline's order (publish, PubAck, commit,
// acknowledge) driven by hand so that a "kill" (dropping the run without committing) lands at an
// exact point. Each scenario fails on the positional message ids / one-level revert of before.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPollingAdapter, type PollingAdapter } from '../../adapters/polling/index.js';
import type { PollingOffset } from '../../adapters/polling/polling-offset.js';
import { parseConfig } from '../../src/config/load.js';
import type { ChangeBatch } from '../../src/core/source-adapter.js';
import { eventSubject, msgId } from '../../src/nats/subjects.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { openDatabase, type ApiDatabase } from '../../src/sql/database.js';
import { toVerifiedEvent, verifyStream } from '../support/stream-verifier.js';
import { quietLog } from '../support/harness.js';
import { TestNatsServer } from '../support/nats-server.js';

let nats: TestNatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
let dir: string;
let db: ApiDatabase;
let knex: Knex;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'SLUICE', subjects: ['sluice.>'], duplicate_window: 120 * 1e9 });
  dir = await mkdtemp(join(tmpdir(), 'sluice-diff-resume-'));
  db = await openDatabase(`sqlite:${join(dir, 'legacy.db')}`);
  knex = db.knex;
});
afterAll(async () => {
  await db?.close().catch(() => {});
  await nc?.close().catch(() => {});
  await nats?.stop();
});

/** One source over one table `name` (id, v) with rows 1..n, read in chunks of `chunkSize`. */
async function setup(name: string, n: number, chunkSize: number) {
  await knex.raw(`CREATE TABLE ${name} (id integer PRIMARY KEY, v text NOT NULL)`);
  for (let i = 1; i <= n; i++) await knex(name).insert({ id: i, v: `v${i}` });
  const cfg = parseConfig({
    nats: { servers: nats.url },
    sources: [
      {
        name,
        kind: 'polling',
        url: `sqlite:${join(dir, 'legacy.db')}`,
        pollInterval: '1ms',
        lookBack: '0ms',
        chunkSize,
        stateDir: join(dir, 'state'),
        tables: [`main.${name}`],
      },
    ],
  }).sources[0]!;
  if (cfg.kind !== 'polling') throw new Error('unreachable');
  let committed: PollingOffset | null = null;
  const ctl = { signal: new AbortController().signal, log: quietLog, lastPublished: null };

  /** Publishes one batch the way the dispatcher does (same subject, Nats-Msg-Id and key header), awaiting each PubAck. */
  async function publish(batch: ChangeBatch<PollingOffset>): Promise<void> {
    for (const c of batch.changes) {
      const h = headers();
      h.set('Sluice-Key', JSON.stringify(c.key));
      const src = c.event.source;
      await js.publish(
        eventSubject('sluice', name, src.schema, src.table, c.event.op),
        JSON.stringify(c.event),
        {
          msgID: msgId(name, c.position, c.index),
          headers: h,
        },
      );
    }
  }

  /**
   * One run of the source from the committed offset: batches are published until `stop` says so
   * for a batch (that batch is published, or not with `publishLast: false`), offsets are committed
   * (and acknowledged) while `commit` allows; then the run is dropped as a SIGKILL would drop it.
   */
  async function run(opts: {
    stop: (o: PollingOffset) => boolean | Promise<boolean>;
    commit: (o: PollingOffset) => boolean;
    publishLast?: boolean;
  }): Promise<void> {
    const adapter: PollingAdapter = createPollingAdapter(cfg as never, quietLog);
    try {
      let from = committed;
      if (adapter.needsSnapshot(from)) {
        for await (const b of adapter.snapshot(ctl, from)) {
          const stop = await opts.stop(b.offset!);
          if (!stop || opts.publishLast !== false) await publish(b);
          if (stop) return;
          if (opts.commit(b.offset!) || b.sync) {
            committed = b.offset!;
            await adapter.acknowledge(committed);
          }
        }
        from = committed;
      }
      for await (const b of adapter.stream(ctl, from)) {
        const stop = await opts.stop(b.offset!);
        if (!stop || opts.publishLast !== false) await publish(b);
        if (stop) return;
        if (opts.commit(b.offset!)) {
          committed = b.offset!;
          await adapter.acknowledge(committed);
        }
      }
    } finally {
      await adapter.close();
    }
  }

  const cursor = (o: PollingOffset) => {
    const c = o.tables[`main.${name}`]!;
    if (c.mode !== 'diff') throw new Error('unreachable');
    return c;
  };
  /** True once the table's pass `pass` is complete. */
  const passDone = (pass: number) => (o: PollingOffset) =>
    o.phase === 'stream' && cursor(o).pass === pass && cursor(o).phase === 'done';

  async function verify() {
    const evs = await readAll(nc, 'SLUICE', `sluice.${name}.>`);
    const rows = await knex(name).select('*').orderBy('id');
    return verifyStream(
      evs.map((e) => ({ ...toVerifiedEvent(e.event, e.key), lsn: e.msgId })),
      new Map([[`main.${name}`, { key: ['id'], rows }]]),
    );
  }
  return { run, cursor, passDone, verify, committed: () => committed };
}

describe('a diff source restarted from its committed offset (issue 10 item 3)', () => {
  test('killed after publishing its first chunk, before committing it: rows changed meanwhile are not stuck at their first read', async () => {
    const s = await setup('first_pass', 10, 100);
    // Run 1 publishes the whole first chunk (10 r events, PubAcked), then dies before any commit.
    await s.run({ stop: (o) => s.cursor(o).chunk === 1, commit: () => false });
    expect(s.committed()).toBeNull();
    // Meanwhile the application changes a row the first run already handed on.
    await knex('first_pass').where({ id: 3 }).update({ v: 'changed while down' });
    // Run 2 starts over, finishes the first pass, and runs one more pass with everything committed.
    await s.run({ stop: s.passDone(2), commit: () => true });
    const report = await s.verify();
    expect(report.examples).toEqual([]);
    expect(report.ok).toBe(true);
    // The nine unchanged rows read again got their first read's message ids (dropped as duplicates);
    // the changed one came as an update of it.
    expect(report.events).toBe(11);
  });

  test('killed in a later pass after publishing part of it: a row changed meanwhile is not taken for a duplicate', async () => {
    const s = await setup('later_pass', 10, 100);
    await s.run({ stop: s.passDone(0), commit: () => true });
    // Pass 1 publishes an update of row 5, then the run dies before committing it.
    await knex('later_pass').where({ id: 5 }).update({ v: 'five' });
    await s.run({ stop: (o) => s.cursor(o).pass === 1 && s.cursor(o).chunk === 1, commit: () => false });
    // A row before it changes too: pass 1, read again, now has two changes in its first chunk.
    await knex('later_pass').where({ id: 1 }).update({ v: 'one' });
    await s.run({ stop: s.passDone(3), commit: () => true });
    const report = await s.verify();
    expect(report.examples).toEqual([]);
    expect(report.ok).toBe(true);
  });

  test('killed two passes ahead of its committed offset: a value changed back is not lost (A→B→A)', async () => {
    const s = await setup('aba', 10, 100);
    await s.run({ stop: s.passDone(0), commit: () => true });
    // Pass 1 publishes row 3 = x, pass 2 publishes row 3 = y; neither is committed.
    await knex('aba').where({ id: 3 }).update({ v: 'x' });
    let updated = false;
    await s.run({
      stop: async (o) => {
        if (s.passDone(1)(o) && !updated) {
          updated = true;
          await knex('aba').where({ id: 3 }).update({ v: 'y' });
        }
        return s.passDone(2)(o);
      },
      commit: () => false,
    });
    expect(updated).toBe(true);
    // Row 3 goes back to x: the stream's last value for it is y.
    await knex('aba').where({ id: 3 }).update({ v: 'x' });
    await s.run({ stop: s.passDone(4), commit: () => true });
    const report = await s.verify();
    expect(report.examples).toEqual([]);
    expect(report.ok).toBe(true);
  });

  test('killed after storing a chunk but before publishing it: the chunk is read and published again', async () => {
    const s = await setup('unpublished', 10, 4);
    await s.run({ stop: s.passDone(0), commit: () => true });
    await knex('unpublished').where({ id: 6 }).update({ v: 'six' });
    await knex('unpublished').where({ id: 2 }).delete();
    // Pass 1's second chunk (rows 5..8, with the update of 6) is stored, never published.
    await s.run({
      stop: (o) => s.cursor(o).pass === 1 && s.cursor(o).chunk === 2,
      commit: (o) => s.cursor(o).pass === 1 && s.cursor(o).chunk < 2,
      publishLast: false,
    });
    await s.run({ stop: s.passDone(3), commit: () => true });
    const report = await s.verify();
    expect(report.examples).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
