// `sluice snapshot` against a real PostgreSQL, in process: the request reaches the running stream
// through the WAL, the table is read again in watermark-bracketed chunks, each row once as an `r`
// event with a key-derived id, and the offset shows the progress until it is done.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createSourceAdapter } from '../../src/pipeline/adapters.js';
import { Harness, quietLog } from '../support/harness.js';
import { waitFor } from '../support/ports.js';

let h: Harness;

beforeAll(async () => {
  h = await Harness.start();
});

afterAll(async () => {
  await h?.stop();
});

test('sluice snapshot re-reads a table online, once per row, while changes stream', async () => {
  await h.pg.query(`CREATE TABLE items (id int PRIMARY KEY, name text);
    INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 1000) g;
    CREATE TABLE other (id int PRIMARY KEY);`);
  const cfg = h.config({
    name: 'shop',
    tables: ['public.items', 'public.other'],
    snapshot: 'never',
    snapshotChunkSize: 128,
  });
  const rt = await h.runInProcess(cfg);
  try {
    await h.waitStreaming(rt);
    // With snapshot: never the slot is created as streaming starts: wait until a change comes through.
    let probe = 0;
    await waitFor(
      async () => {
        await h.pg.query(`INSERT INTO other VALUES ($1)`, [++probe]);
        return (await h.events('shop')).length > 0;
      },
      'a streamed change',
      60_000,
      500,
    );
    const adapter = await createSourceAdapter(cfg.sources[0]!, quietLog);
    const id = await adapter.requestSnapshot!(['public.items']);
    await adapter.close();
    await h.pg.query(`UPDATE items SET name = 'changed' WHERE id = 1000`);
    // Every row arrives (as r, or only as the update when the update superseded its read).
    const items = async () => (await h.events('shop')).filter((e) => e.subject.includes('.items.'));
    const events = await waitFor(
      async () => {
        const got = await items();
        const keys = new Set(got.map((e) => (e.key as { id: number }).id));
        return keys.size === 1000 && got.some((e) => e.event.op === 'u') ? got : null;
      },
      'every row of items',
      60_000,
      250,
    );
    const reads = events.filter((e) => e.event.op === 'r');
    expect(new Set(reads.map((e) => e.msgId)).size).toBe(reads.length);
    expect(reads.every((e) => e.msgId.startsWith(`shop:resnap@${id}:public.items#`))).toBe(true);
    // Every row once; row 1000 as changed, whichever came first (the read was either before the
    // update, or the update superseded it in its window, or the read was taken after it).
    const last = new Map<number, unknown>();
    for (const e of events) last.set((e.key as { id: number }).id, e.event.after);
    expect(last.size).toBe(1000);
    expect(last.get(1000)).toEqual({ id: 1000, name: 'changed' });
    expect(last.get(1)).toEqual({ id: 1, name: 'item 1' });
  } finally {
    await rt.stop();
  }
});
