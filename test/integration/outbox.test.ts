// Outbox routing against a real PostgreSQL: rows inserted into an outbox table are published as the
// application's events on `<prefix>.outbox.<aggregate>.<type>`, exactly once, instead of as row changes.
import { Kvm } from '@nats-io/kv';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { listSourceDeadLetters } from '../../src/cli/commands/source-dlq.js';
import { parseConfig } from '../../src/config/load.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { kvKey } from '../../src/nats/subjects.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start();
  await h.pg.query(`
    CREATE TABLE orders (id int PRIMARY KEY, total numeric(10,2));
    CREATE TABLE outbox (
      id uuid PRIMARY KEY, aggregatetype text, aggregateid text, type text, payload jsonb);
    INSERT INTO outbox VALUES ('00000000-0000-0000-0000-000000000001', 'order', '0', 'seeded', '{"n":0}');
  `);
});

afterAll(async () => {
  await h?.stop();
});

interface Headers {
  get(k: string): string;
}

async function outboxMessages() {
  const nc = await h.natsConnection();
  return readAll(nc, 'SLUICE', 'sluice.outbox.>');
}

test('outbox rows become application events, once each, and never row changes', async () => {
  const raw = h.rawConfig({
    name: 'shop',
    tables: ['public.orders', 'public.outbox'],
    outbox: [{ table: 'public.outbox' }],
  });
  const cfg = parseConfig(raw);
  expect(cfg.sources[0]!.outbox[0]).toMatchObject({
    aggregateType: 'aggregatetype',
    payload: 'payload',
    id: 'id',
  });
  let rt = await h.runInProcess(cfg);
  try {
    await h.waitStreaming(rt);
    await h.pg.query(`
      BEGIN;
      INSERT INTO orders VALUES (1, 10.50);
      INSERT INTO outbox VALUES ('00000000-0000-0000-0000-000000000002', 'order', '1', 'created', '{"total":"10.50","lines":[1,2]}');
      COMMIT;
      UPDATE outbox SET type = 'changed' WHERE aggregateid = '1';
      DELETE FROM outbox;
      INSERT INTO outbox VALUES ('00000000-0000-0000-0000-000000000003', 'customer.eu', 'c 7', 'renamed', '"just a string"');
      INSERT INTO outbox VALUES ('00000000-0000-0000-0000-000000000004', 'order', '2', NULL, '{}');
      INSERT INTO orders VALUES (2, 3);
    `);
    await h.waitForEvents('shop', 2);
    const msgs = await waitFor(async () => {
      const m = await outboxMessages();
      return m.length >= 3 ? m : null;
    }, 'three outbox events');
    expect(msgs.map((m) => m.subject)).toEqual([
      'sluice.outbox.order.seeded',
      'sluice.outbox.order.created',
      'sluice.outbox.customer%2Eeu.renamed',
    ]);
    expect(msgs.map((m) => m.msgId)).toEqual([
      'shop:outbox:00000000-0000-0000-0000-000000000001',
      'shop:outbox:00000000-0000-0000-0000-000000000002',
      'shop:outbox:00000000-0000-0000-0000-000000000003',
    ]);
    // The body is the payload column itself, not a change event; the key is the aggregate id.
    expect(msgs[1]!.event).toEqual({ total: '10.50', lines: [1, 2] });
    expect(msgs[2]!.event).toBe('just a string');
    expect(msgs[1]!.key).toBe('1');

    const nc = await h.natsConnection();
    const js = (await import('@nats-io/jetstream')).jetstream(nc);
    const jsm = await js.jetstreamManager();
    const stored = await jsm.streams.getMessage('SLUICE', { seq: msgs[1]!.seq });
    const hd = stored!.header as unknown as Headers;
    expect(hd.get('Sluice-Aggregate-Type')).toBe('order');
    expect(hd.get('Sluice-Aggregate-Id')).toBe('1');
    expect(hd.get('Sluice-Event-Type')).toBe('created');
    expect(hd.get('Sluice-Event-Id')).toBe('00000000-0000-0000-0000-000000000002');

    // No row change of the outbox table; the other table streams as always.
    const rows = await h.events('shop');
    expect(rows.filter((e) => e.subject.includes('.outbox.'))).toEqual([]);
    expect(rows.map((e) => `${e.event.op}:${(e.key as { id: number }).id}`)).toEqual(['c:1', 'c:2']);
    // A row without an event type is no event: a dead letter that says why.
    const dead = await listSourceDeadLetters(nc, cfg, 'shop');
    expect(dead.map((d) => (d.letter as { reason: string }).reason)).toEqual(['outbox row without type']);
  } finally {
    await rt.stop();
  }

  // Read everything again from scratch (offset and slot dropped): the outbox rows still in the table
  // are re-read under the same ids and the stream's duplicate window absorbs them.
  const kv = await new Kvm(await h.natsConnection()).open('sluice_offsets');
  await kv.delete(kvKey('offset', 'shop'));
  await h.pg.query(
    `INSERT INTO outbox VALUES ('00000000-0000-0000-0000-000000000005', 'order', '3', 'created', '{}')`,
  );
  rt = await h.runInProcess(cfg);
  try {
    await h.waitStreaming(rt);
    const after = await waitFor(async () => {
      const m = await outboxMessages();
      return m.length >= 4 ? m : null;
    }, 'the fourth outbox event');
    expect(after.map((m) => m.msgId.slice(-1))).toEqual(['1', '2', '3', '5']);
  } finally {
    await rt.stop();
  }
});
