// A triggers first pass interrupted after its stream got ahead of the committed offset, with rows
// deleted meanwhile inside the chunks published but not committed: resuming loses no row. The
// stream is stood in for by a map of Nats-Msg-Id → event where the first write wins (JetStream's
// duplicate window); SQLite, in process.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTriggersAdapter } from '../../adapters/triggers/index.js';
import { migrateSource } from '../../adapters/triggers/triggers-migrate.js';
import type { TriggersOffset } from '../../adapters/triggers/triggers-offset.js';
import { parseConfig } from '../../src/config/load.js';
import type { SourceChange } from '../../src/core/change-event.js';
import type { SourceContext } from '../../src/core/source-adapter.js';
import { quietLog } from '../support/harness.js';
import { startDb, type Db } from '../contract/contract-targets.js';

let db: Db;
beforeAll(async () => {
  db = await startDb('sqlite');
});
afterAll(async () => db?.stop());

test('resume after the stream’s last row: rows shifted by deletes are not absorbed as duplicates', async () => {
  await db.knex.schema.createTable('t', (tb) => {
    tb.integer('id').primary();
    tb.string('name', 40).notNullable();
  });
  await db.knex.batchInsert(
    't',
    Array.from({ length: 200 }, (_, i) => ({ id: i + 1, name: `row ${i + 1}` })),
    100,
  );
  const cfg = parseConfig({
    sources: [{ name: 'rs', kind: 'triggers', url: db.url, chunkSize: 10, tables: ['main.t'] }],
  }).sources[0]!;
  if (cfg.kind !== 'triggers') throw new Error('unreachable');
  await migrateSource(cfg, quietLog, false);

  const stream = new Map<string, SourceChange>();
  const publish = (c: SourceChange) => {
    const id = `${c.position}:${c.index}`;
    if (!stream.has(id)) stream.set(id, c);
  };
  const ctx = (tail: SourceChange | null): SourceContext => ({
    signal: new AbortController().signal,
    log: quietLog,
    lastPublished: tail && { position: tail.position, index: tail.index, key: tail.key, event: tail.event },
  });

  // First run: five chunks published (ids 1-50), the offset committed only after chunk 3 (ids 1-30).
  let a = createTriggersAdapter(cfg, quietLog);
  let committed: TriggersOffset | null = null;
  let tail: SourceChange | null = null;
  let chunks = 0;
  for await (const b of a.snapshot(ctx(null), null)) {
    b.changes.forEach(publish);
    if (b.changes.length === 0) continue;
    tail = b.changes[b.changes.length - 1]!;
    if (++chunks === 3) committed = b.offset;
    if (chunks === 5) break;
  }
  await a.close();
  expect(committed?.snapshot?.chunk).toBe(3);

  // Meanwhile a row of the uncommitted chunk 4 goes: a re-read chunk 4 would start one row later.
  await db.knex('t').where({ id: 35 }).delete();

  a = createTriggersAdapter(cfg, quietLog);
  let last: TriggersOffset | null = null;
  for await (const b of a.snapshot(ctx(tail), committed)) {
    b.changes.forEach(publish);
    last = b.offset ?? last;
  }
  await a.close();
  expect(last?.phase).toBe('stream');

  const read = new Set([...stream.values()].filter((c) => c.event.op === 'r').map((c) => c.key.id));
  const ids = (await db.knex<{ id: number }>('t').select('id')).map((r) => r.id);
  expect(ids.filter((id) => !read.has(id))).toEqual([]);
  // Each row once as r (35 too: it was published before it was deleted; its d follows in the stream).
  expect([...stream.values()].filter((c) => c.event.op === 'r')).toHaveLength(200);
});
