// A resumed snapshot under inserts, updates, deletes and key changes: `sluice run` is SIGKILLed
// part-way through the initial snapshot three times while a writer keeps changing the table,
// including moving rows' keys forward past the snapshot's position and back behind it. Replaying
// the stream must give the table value for value, with no snapshot row read twice.
import type { ChildProcess } from 'node:child_process';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { readTableStates } from '../support/postgres-state.js';
import { toVerifiedEvent, verifyStream } from '../support/stream-verifier.js';
import { exited, rng } from './fault-support.js';

const ROWS = 20_000;
let h: Harness;
let child: ChildProcess | null = null;

beforeAll(async () => {
  h = await Harness.start();
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await h?.stop();
});

const keyAt = (n: number, suffix: number): string => `C${String(n).padStart(6, '0')}-${suffix}`;

// FULL: updates and deletes carry whole before images, and the verifier checks each against the
// row it holds; DEFAULT: only a key change and a delete carry the old key.
test.each(['FULL', 'DEFAULT'] as const)(
  'a snapshot killed part-way resumes correctly while rows are inserted, deleted and re-keyed (REPLICA IDENTITY %s)',
  { timeout: 240_000 },
  async (identity) => {
    const name = `cust_${identity.toLowerCase()}`;
    const TABLE = `public.${name}`;
    await h.pg
      .query(`CREATE TABLE ${name} (cust_no text PRIMARY KEY, name text NOT NULL, balance numeric(12,2), version int NOT NULL);
      ALTER TABLE ${name} REPLICA IDENTITY ${identity};
      INSERT INTO ${name} SELECT 'C' || lpad(g::text, 6, '0'), 'Customer ' || g, g % 1000, 0
        FROM generate_series(1, ${ROWS}) g;`);
    const file = await h.writeConfig(
      h.rawConfig(
        { name, tables: [TABLE], snapshotChunkSize: 300, maxBatchRows: 300 },
        { leaseTtl: '1s', commitInterval: '50ms' },
      ),
    );
    // The writer knows every live key (it is the only one changing the table), so each statement
    // touches exactly one existing row and never collides with another key.
    const live: string[] = [];
    for (let g = 1; g <= ROWS; g++) live.push(`C${String(g).padStart(6, '0')}`);
    const random = rng(20261128);
    const pick = () => Math.floor(random() * live.length);
    const ops = { insert: 0, update: 0, delete: 0, forward: 0, backward: 0 };
    let stop = false;
    let seq = 0;
    const writer = (async () => {
      const c = await h.pg.client();
      while (!stop) {
        const r = random();
        const i = pick();
        const old = live[i]!;
        if (r < 0.2) {
          const key = keyAt(Math.floor(random() * ROWS) + 1, ++seq);
          await c.query(`INSERT INTO ${name} VALUES ($1, $2, $3, 0)`, [key, `New ${seq}`, seq % 100]);
          live.push(key);
          ops.insert++;
        } else if (r < 0.45) {
          await c.query(
            `UPDATE ${name} SET balance = balance + 1, version = version + 1 WHERE cust_no = $1`,
            [old],
          );
          ops.update++;
        } else if (r < 0.6) {
          await c.query(`DELETE FROM ${name} WHERE cust_no = $1`, [old]);
          live[i] = live[live.length - 1]!;
          live.pop();
          ops.delete++;
        } else {
          // A key change, forward (to a key after the old one) or backward (before it): with the
          // snapshot somewhere in the middle, both cross its position in either direction.
          const n = Number(old.slice(1, 7));
          const forward = r < 0.8;
          const to = forward
            ? n + 1 + Math.floor(random() * (ROWS - n))
            : Math.max(1, Math.floor(random() * n));
          const key = keyAt(to, ++seq);
          await c.query(`UPDATE ${name} SET cust_no = $1, version = version + 1 WHERE cust_no = $2`, [
            key,
            old,
          ]);
          live[i] = key;
          if (forward) ops.forward++;
          else ops.backward++;
        }
      }
      await c.end();
    })();

    const jsm = await jetstreamManager(await h.natsConnection());
    const stored = async () => (await jsm.streams.info('SLUICE').catch(() => null))?.state.messages ?? 0;
    // The stream also holds the other case's events.
    const base = await stored();
    let kills = 0;
    for (const threshold of [3000, 8000, 13000].map((n) => base + n)) {
      child = h.spawnSluice(file);
      const running = child;
      await waitFor(
        async () => {
          if (running.exitCode !== null) throw new Error(`sluice exited with ${running.exitCode}`);
          return (await stored()) >= threshold;
        },
        `${threshold} events`,
        120_000,
        50,
      );
      child.kill('SIGKILL');
      await exited(child);
      kills++;
    }
    child = h.spawnSluice(file);
    const last = child;
    // The writer runs on until the snapshot is done and changes are streamed.
    await waitFor(
      async () => {
        if (last.exitCode !== null) throw new Error(`sluice exited with ${last.exitCode}`);
        return (await stored()) >= base + ROWS + 2000;
      },
      'the snapshot and some streamed changes',
      120_000,
      200,
    );
    stop = true;
    await writer;
    await h.pg.query(`INSERT INTO ${name} VALUES ('END', 'end', 0, -1)`);
    // The writer has stopped, so the end row is the source's last event once it is through.
    await waitFor(
      async () => {
        const m = await jsm.streams
          .getMessage('SLUICE', { last_by_subj: `sluice.${name}.>` })
          .catch(() => null);
        return m?.json<{ after: { cust_no?: string } | null }>().after?.cust_no === 'END';
      },
      'the end row',
      120_000,
      200,
    );
    child.kill('SIGTERM');
    await exited(child);

    const events = (await h.events(name)).map((e) => toVerifiedEvent(e.event, e.key));
    const report = verifyStream(
      events,
      await readTableStates(h.pg.url(), [TABLE]),
      new Set(identity === 'FULL' ? [TABLE] : []),
    );
    const reads = events.filter((e) => e.snapshot).length;
    console.log(
      `snapshot resume with key changes (${identity}): ${kills} kills, ${reads} snapshot reads, ${events.length - reads} changes, writer ${JSON.stringify(ops)}, duplicates ${report.duplicates}, lost ${report.lost}`,
    );
    expect(kills).toBe(3);
    expect(report.examples).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(report.lost).toBe(0);
  },
);
