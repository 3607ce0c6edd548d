// The batch applier on a real SQLite file, without NATS: stream order per key inside one batch,
// later images of a key folding into one upsert, a key change as delete + insert, unavailable
// columns left as they are, truncate, and a refused row isolated under its savepoint.
import knexFactory, { type Knex } from 'knex';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { sinkSchema } from '../../src/config/sinks.js';
import { SinkApplier, type SinkEvent } from '../../src/sink/sink-apply.js';
import { SinkMapping } from '../../src/sink/sink-mapping.js';
import { sqliteDialect } from '../../src/sql/sqlite/sqlite-dialect.js';

let knex: Knex;
let seq = 0;

beforeAll(async () => {
  const url = `sqlite:${join(await mkdtemp(join(tmpdir(), 'sluice-apply-')), 't.db')}`;
  knex = knexFactory(await sqliteDialect.sinkKnexConfig(url, null));
  await knex.schema.createTable('items', (t) => {
    t.integer('item_id').primary();
    t.integer('qty').notNullable();
    t.text('note');
  });
});

afterAll(async () => {
  await knex?.destroy();
});

const ev = (
  op: SinkEvent['op'],
  key: { id: number } | null,
  after: Record<string, unknown> | null,
  extra: Partial<SinkEvent> = {},
): SinkEvent => ({
  seq: ++seq,
  position: String(seq),
  schema: 'public',
  table: 'items',
  op,
  before: null,
  after,
  key,
  tsMs: 0,
  ...extra,
});

const applier = new SinkApplier(
  sqliteDialect,
  new SinkMapping(
    sinkSchema.parse({
      name: 's',
      url: 'sqlite:x',
      from: 'erp',
      tables: { 'public.items': { columns: { id: 'item_id' }, exclude: ['secret'] } },
    }),
  ),
);
// The sink's session reads 64-bit integers exactly (as BigInt): numbers for the comparison.
const all = async () =>
  (await knex('items').select('item_id', 'qty', 'note').orderBy('item_id')).map((r) => ({
    ...r,
    item_id: Number(r.item_id),
    qty: Number(r.qty),
  }));

test('one batch: per-key order, folded upserts, key change, unavailable columns, delete, truncate', async () => {
  await knex.transaction((trx) =>
    applier.apply(trx, [
      ev('c', { id: 1 }, { id: 1, qty: 1, note: 'a', secret: 'x' }),
      ev('c', { id: 2 }, { id: 2, qty: 2, note: 'b' }),
      ev('u', { id: 1 }, { id: 1, qty: 10, note: 'a2' }),
      ev('c', { id: 3 }, { id: 3, qty: 3, note: 'c' }),
      ev('d', { id: 2 }, null, { before: { id: 2 } }),
      ev('u', { id: 4 }, { id: 4, qty: 30, note: 'moved' }, { before: { id: 3 } }), // key 3 → 4
      ev('u', { id: 1 }, { id: 1, qty: 11 }, { unavailable: ['note'] }), // note not sent: kept
      ev('c', { id: 2 }, { id: 2, qty: 22, note: 'again' }),
    ]),
  );
  expect(await all()).toEqual([
    { item_id: 1, qty: 11, note: 'a2' },
    { item_id: 2, qty: 22, note: 'again' },
    { item_id: 4, qty: 30, note: 'moved' },
  ]);
  await knex.transaction((trx) =>
    applier.apply(trx, [ev('t', null, null), ev('c', { id: 9 }, { id: 9, qty: 9, note: null })]),
  );
  expect(await all()).toEqual([{ item_id: 9, qty: 9, note: null }]);
});

test('a refused row is rolled back alone under its savepoint and returned with its reason', async () => {
  const rejected = await knex.transaction((trx) =>
    applier.applyEach(
      trx,
      [
        ev('c', { id: 5 }, { id: 5, qty: 5 }),
        ev('c', { id: 6 }, { id: 6, qty: null }),
        ev('c', { id: 7 }, { id: 7, qty: 7 }),
      ],
      (err) => sqliteDialect.classifyError(err),
    ),
  );
  expect(rejected.map((r) => [r.event.key, r.kind])).toEqual([[{ id: 6 }, 'notNull']]);
  expect(rejected[0]!.reason).toMatch(/NOT NULL/);
  expect((await all()).map((r) => r.item_id)).toEqual([5, 7, 9]);
});
