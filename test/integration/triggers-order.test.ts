// Per-key commit order of the triggers source (adapters/triggers/README.md "The changelog"): a
// transaction that took its id early can change a row after a later one did; the stream must
// still hold each key's changes in commit order. Deterministic interleaving on real PostgreSQL and
// MariaDB: T1 writes row 2; T3 writes row 3 and stays open; T2 updates row 1 and commits; T1
// deletes row 1 and commits; the source polls (twice over) while T3 is open; T3 commits; the
// stream must hold row 1's update before its delete.
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createTriggersAdapter } from '../../adapters/triggers/index.js';
import { migrateSource } from '../../adapters/triggers/triggers-migrate.js';
import { parseConfig } from '../../src/config/load.js';
import type { SourceChange } from '../../src/core/change-event.js';
import { quietLog } from '../support/harness.js';
import { skipReason, startDb, type Db, type DbKind } from '../contract/contract-targets.js';

/** One writer connection with its own transaction. */
interface Writer {
  run(sql: string): Promise<void>;
  close(): Promise<void>;
}

async function writer(kind: DbKind, url: string): Promise<Writer> {
  if (kind === 'postgres') {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    return { run: async (sql) => void (await c.query(sql)), close: () => c.end() };
  }
  const c = await mysql.createConnection(url);
  return { run: async (sql) => void (await c.query(sql)), close: () => c.end() };
}

for (const kind of ['postgres', 'mariadb'] as const) {
  describe.skipIf(skipReason(kind))(`triggers on ${kind}: per-key commit order`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await startDb(kind);
    }, 120_000);
    afterAll(async () => db?.stop());

    test('an update committed before a delete of the same row is published before it', async () => {
      const q = (n: string) => db.qualified(n).split('.').map((p) => (kind === 'postgres' ? `"${p}"` : `\`${p}\``)).join('.');
      await db.knex.schema.createTable('ord', (t) => {
        t.integer('id').primary();
        t.string('v', 20).notNullable();
      });
      await db.knex('ord').insert([
        { id: 1, v: 'k' },
        { id: 2, v: 'other' },
      ]);
      const cfg = parseConfig({
        sources: [
          {
            name: 'ord',
            kind: 'triggers',
            url: db.url,
            pollInterval: '20ms',
            lookBack: '50ms',
            tables: [db.qualified('ord')],
          },
        ],
      }).sources[0]!;
      if (cfg.kind !== 'triggers') throw new Error('unreachable');
      await migrateSource(cfg, quietLog, false);

      const a = createTriggersAdapter(cfg, quietLog);
      const knex: Knex = await a.s.open();
      let polls = 0;
      // Every query of the source's pool: a poll reads the changelog or asks the horizon.
      knex.on('query', () => polls++);
      const got: SourceChange[] = [];
      const ac = new AbortController();
      const reading = (async () => {
        for await (const b of a.stream({ signal: ac.signal, log: quietLog, lastPublished: null }, null))
          got.push(...b.changes);
      })();
      // The reader is in its loop (past its start at the changelog's end).
      await vi.waitFor(() => expect(polls).toBeGreaterThan(3), { timeout: 20_000, interval: 20 });

      const t1 = await writer(kind, db.url);
      const t2 = await writer(kind, db.url);
      const t3 = await writer(kind, db.url);
      try {
        await t1.run('BEGIN');
        await t1.run(`UPDATE ${q('ord')} SET v = 't1' WHERE id = 2`);
        await t3.run('BEGIN');
        await t3.run(`INSERT INTO ${q('ord')} (id, v) VALUES (3, 't3')`);
        await t2.run('BEGIN');
        await t2.run(`UPDATE ${q('ord')} SET v = 't2' WHERE id = 1`);
        await t2.run('COMMIT');
        await t1.run(`DELETE FROM ${q('ord')} WHERE id = 1`);
        await t1.run('COMMIT');
        // Reads while T3 is still open: several more polls at least.
        const before = polls;
        await vi.waitFor(() => expect(polls).toBeGreaterThan(before + 6), { timeout: 20_000, interval: 20 });
        await t3.run('COMMIT');
        await vi.waitFor(() => expect(got.length).toBeGreaterThanOrEqual(4), { timeout: 30_000, interval: 50 });
      } finally {
        await Promise.all([t1, t2, t3].map((w) => w.close()));
        ac.abort();
        await reading;
        await a.close();
      }
      const k = got.filter((c) => c.key.id === 1).map((c) => `${c.event.op}:${JSON.stringify(c.event.after)}`);
      expect(k).toEqual(['u:{"id":1,"v":"t2"}', 'd:null']);
      expect(got).toHaveLength(4);
    }, 120_000);
  });
}
