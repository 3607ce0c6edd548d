import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { changeEventSchema } from '../../src/core/change-event.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { listSourceDeadLetters } from '../../src/cli/commands/source-dlq.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { Harness } from '../support/harness.js';

let h: Harness;
let rt: Runtime;

beforeAll(async () => {
  h = await Harness.start();
  await h.pg.query(`
    CREATE TABLE custmast (cust_no char(8) PRIMARY KEY, cust_nm char(30) NOT NULL, actv_flg char(1) NOT NULL DEFAULT 'Y', bal_amt numeric(12,2));
    CREATE TABLE ordhdr (ord_no int PRIMARY KEY, cust_no char(8) NOT NULL, ord_dt int NOT NULL, note text);
    ALTER TABLE ordhdr REPLICA IDENTITY FULL;
    INSERT INTO custmast VALUES ('C0000001', 'ACME TOOLING', 'Y', 1520.00), ('C0000002', 'BOLT & NUT', 'N', 0);
    INSERT INTO ordhdr VALUES (1, 'C0000001', 20240105, 'first');
  `);
  rt = await h.runInProcess(h.config({ name: 'erp', tables: ['public.custmast', 'public.ordhdr'] }));
});

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

describe('postgres → JetStream', () => {
  test('snapshot: every existing row as an r event, valid per the event schema', async () => {
    const evs = await h.waitForEvents('erp', 3);
    expect(evs.map((e) => e.event.op)).toEqual(['r', 'r', 'r']);
    for (const e of evs) expect(changeEventSchema.safeParse(e.event).success).toBe(true);
    const first = evs[0]!;
    expect(first.subject).toBe('sluice.erp.public.custmast.r');
    expect(first.event.after).toEqual({
      cust_no: 'C0000001',
      cust_nm: 'ACME TOOLING'.padEnd(30),
      actv_flg: 'Y',
      bal_amt: '1520.00',
    });
    expect(first.key).toEqual({ cust_no: 'C0000001' });
    expect(first.msgId).toMatch(/^erp:snapshot@[0-9A-F]+\/[0-9A-F]+:0$/);
  });

  test('insert, update, delete and truncate stream in commit order with transaction metadata', async () => {
    const c = await h.pg.client();
    await c.query('BEGIN');
    await c.query(`INSERT INTO custmast VALUES ('C0000003', 'CAMDEN', 'Y', 10.5)`);
    await c.query(`UPDATE ordhdr SET note = 'changed' WHERE ord_no = 1`);
    await c.query(`INSERT INTO ordhdr VALUES (2, 'C0000003', 20240106, NULL)`);
    await c.query('COMMIT');
    await c.query(`UPDATE custmast SET actv_flg = 'N' WHERE cust_no = 'C0000001'`);
    await c.query(`DELETE FROM custmast WHERE cust_no = 'C0000002'`);
    await c.query(`DELETE FROM ordhdr WHERE ord_no = 2`);
    await c.query('TRUNCATE ordhdr');
    await c.end();

    const evs = (await h.waitForEvents('erp', 10)).slice(3);
    expect(evs.map((e) => `${e.event.op} ${(e.event.source as { table: string }).table}`)).toEqual([
      'c custmast',
      'u ordhdr',
      'c ordhdr',
      'u custmast',
      'd custmast',
      'd ordhdr',
      't ordhdr',
    ]);
    for (const e of evs)
      expect(changeEventSchema.safeParse(e.event).success, JSON.stringify(e.event)).toBe(true);
    const [c1, u1, c2, u2, d1, d2] = evs;
    // One transaction: one txId, total_order 1..3, per-table order.
    const tx = [c1, u1, c2].map(
      (e) => e!.event.transaction as { id: string; total_order: number; data_collection_order: number },
    );
    expect(new Set(tx.map((t) => t.id)).size).toBe(1);
    expect(tx.map((t) => t.total_order)).toEqual([1, 2, 3]);
    expect(tx.map((t) => t.data_collection_order)).toEqual([1, 1, 2]);
    // REPLICA IDENTITY FULL: the whole old row; DEFAULT: no before on update, the key on delete.
    expect(u1!.event.before).toEqual({ ord_no: 1, cust_no: 'C0000001', ord_dt: 20240105, note: 'first' });
    expect(u1!.event.after).toMatchObject({ note: 'changed' });
    expect(u2!.event.before).toBeNull();
    expect(d1!.event.before).toEqual({ cust_no: 'C0000002' });
    expect(d1!.event.after).toBeNull();
    expect(d2!.event.before).toEqual({ ord_no: 2, cust_no: 'C0000003', ord_dt: 20240106, note: null });
    expect(u2!.subject).toBe('sluice.erp.public.custmast.u');
    expect(u2!.msgId).toMatch(/^erp:[0-9A-F]+\/[0-9A-F]+:0$/);
  });
});

test('/metrics shows what was published and the commit→PubAck latency', async () => {
  const { startMetricsServer } = await import('../../src/util/metrics-server.js');
  const server = await startMetricsServer('127.0.0.1:0');
  try {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) =>
      Number(new RegExp(`^${name}\\{source="erp"\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    expect(value('sluice_events_published_total')).toBeGreaterThanOrEqual(10);
    expect(value('sluice_commit_to_ack_seconds_count')).toBeGreaterThanOrEqual(7); // the streamed changes, not snapshot reads
    expect(text).toMatch(/^sluice_source_state\{source="erp",state="streaming"\} 1$/m);
  } finally {
    await server.close();
  }
});

test('an event larger than max_payload goes to the dead-letter subject and the stream goes on', async () => {
  await h.pg.query(`CREATE TABLE blobs (id int PRIMARY KEY, body text)`);
  // A second source (its own slot and publication) on the same server captures it.
  const rt2 = await h.runInProcess(h.config({ name: 'blobs', tables: ['public.blobs'] }));
  try {
    await h.waitStreaming(rt2);
    await h.pg.query(`INSERT INTO blobs VALUES (1, repeat('x', 1500000))`); // > 1 MB: nats-server's default max_payload
    await h.pg.query(`INSERT INTO blobs VALUES (2, 'small')`);
    const [next] = await h.waitForEvents('blobs', 1);
    // Outside the source's subjects, so consumers of its events never see it as a change.
    const [dlq] = await readAll(await h.natsConnection(), 'SLUICE', 'sluice.dlq.blobs');
    expect(dlq!.subject).toBe('sluice.dlq.blobs');
    expect(dlq!.event).toMatchObject({
      reason: 'max_payload exceeded',
      subject: 'sluice.blobs.public.blobs.c',
      key: { id: 1 },
      op: 'c',
    });
    expect((dlq!.event as { bytes: number }).bytes).toBeGreaterThan(1_500_000);
    expect(next!.subject).toBe('sluice.blobs.public.blobs.c');
    // `sluice dlq list blobs` reads it (and the subject older versions used).
    const cfg = h.config({ name: 'blobs', tables: ['public.blobs'] });
    const listed = await listSourceDeadLetters(await h.natsConnection(), cfg, 'blobs');
    expect(listed.map((d) => d.subject)).toEqual(['sluice.dlq.blobs']);
    expect(next!.event.after).toEqual({ id: 2, body: 'small' });
  } finally {
    await rt2.stop();
  }
});
