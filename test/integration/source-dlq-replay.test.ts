// `sluice dlq replay <source>`: events too large for max_payload are dead-lettered with their body
// kept aside; once the server allows larger messages, replay publishes them under their original
// subject and Nats-Msg-Id, and leaves (and reports) those it cannot or must not send.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  listSourceDeadLetters,
  replaySourceDeadLetters,
  type ReplayOutcome,
} from '../../src/cli/commands/source-dlq.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { Harness } from '../support/harness.js';
import type { TestNatsServer } from '../support/nats-server.js';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start();
});

afterAll(async () => {
  await h?.stop();
});

test('replay publishes the dead letters that now fit, with their original ids, once; the rest stay', async () => {
  await h.pg.query(`CREATE TABLE blobs (id int PRIMARY KEY, body text)`);
  const cfg = h.config({ name: 'blobs', tables: ['public.blobs'] });
  const rt = await h.runInProcess(cfg);
  try {
    await h.waitStreaming(rt);
    // nats-server's default max_payload is 1 MB.
    await h.pg.query(`INSERT INTO blobs VALUES (1, repeat('a', 1500000))`); // fits after the raise
    await h.pg.query(`INSERT INTO blobs VALUES (2, repeat('b', 1500000))`); // superseded below
    await h.pg.query(`UPDATE blobs SET body = 'small' WHERE id = 2`);
    await h.pg.query(`INSERT INTO blobs VALUES (3, repeat('c', 6000000))`); // too large even then
    await h.pg.query(`INSERT INTO blobs VALUES (4, 'last')`);
    await h.waitForEvents('blobs', 2);
  } finally {
    await rt.stop();
  }
  const before = await listSourceDeadLetters(await h.natsConnection(), cfg, 'blobs');
  expect(before.map((d) => (d.letter as { key: unknown }).key)).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
  const ids = before.map((d) => (d.letter as { msgId: string }).msgId);

  // Raise max_payload to 4 MB (a server restart with a config file; the store is kept).
  const server = h.nats as TestNatsServer;
  const conf = join(h.dir, 'nats.conf');
  await writeFile(conf, 'max_payload: 4194304\n');
  server.setArgs(['-c', conf]);
  await server.restart(200);

  const nc = await connect({ servers: h.nats.url });
  try {
    const outcomes: [number, ReplayOutcome][] = [];
    const report = await replaySourceDeadLetters(nc, cfg, 'blobs', {
      onResult: (d, o) => outcomes.push([(d.letter as { key: { id: number } }).key.id, o]),
    });
    expect(report).toEqual({ replayed: 1, kept: 2 });
    expect(outcomes[0]).toMatchObject([1, { kind: 'replayed', duplicate: false }]);
    expect(outcomes[1]).toMatchObject([2, { kind: 'kept', reason: expect.stringMatching(/superseded/) }]);
    expect(outcomes[2]).toMatchObject([3, { kind: 'kept', reason: expect.stringMatching(/max_payload/) }]);

    const events = await readAll(nc, 'SLUICE', 'sluice.blobs.>');
    const one = events.filter((e) => (e.key as { id: number }).id === 1);
    expect(one).toHaveLength(1);
    expect(one[0]!.msgId).toBe(ids[0]);
    expect(one[0]!.subject).toBe('sluice.blobs.public.blobs.c');
    expect(one[0]!.event).toMatchObject({ op: 'c', after: { id: 1 } });
    expect((one[0]!.event.after as { body: string }).body).toHaveLength(1_500_000);
    // The replayed event comes after what the stream held, which is why a superseded one stays.
    expect(events.map((e) => [(e.key as { id: number }).id, e.event.op])).toEqual([
      [2, 'u'],
      [4, 'c'],
      [1, 'c'],
    ]);

    // The replayed letter is gone; a second replay sends nothing twice.
    const left = await listSourceDeadLetters(nc, cfg, 'blobs');
    expect(left.map((d) => (d.letter as { key: unknown }).key)).toEqual([{ id: 2 }, { id: 3 }]);
    expect(await replaySourceDeadLetters(nc, cfg, 'blobs')).toEqual({ replayed: 0, kept: 2 });
    expect(await readAll(nc, 'SLUICE', 'sluice.blobs.>')).toHaveLength(3);

    // --force sends the superseded one anyway.
    expect(await replaySourceDeadLetters(nc, cfg, 'blobs', { force: true })).toEqual({
      replayed: 1,
      kept: 1,
    });
    const forced = (await readAll(nc, 'SLUICE', 'sluice.blobs.>')).at(-1)!;
    expect(forced.msgId).toBe(ids[1]);
  } finally {
    await nc.close();
  }
});
