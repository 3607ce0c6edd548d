// The legacy application's writes never fail because of Sluice (adapters/triggers/README.md): the
// captured tables live in two schemas (databases on MariaDB) other than the connection's default,
// the changelog in a third named by the config, and the application's sessions have their
// search_path (default database) elsewhere. Every write succeeds and every change is read.
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { createTriggersAdapter } from '../../adapters/triggers/index.js';
import { migrateSource } from '../../adapters/triggers/triggers-migrate.js';
import type { TriggersOffset } from '../../adapters/triggers/triggers-offset.js';
import { parseConfig } from '../../src/config/load.js';
import type { SourceChange } from '../../src/core/change-event.js';
import { quietLog } from '../support/harness.js';
import { skipReason, startDb, type Db } from '../contract/contract-targets.js';

for (const kind of ['postgres', 'mariadb'] as const) {
  describe.skipIf(skipReason(kind))(`triggers on ${kind}: tables and changelog outside the default schema`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await startDb(kind);
    }, 120_000);
    afterAll(async () => db?.stop());

    test('writers whose search_path / default database is elsewhere: every write succeeds and arrives', async () => {
      const create = kind === 'postgres' ? 'CREATE SCHEMA' : 'CREATE DATABASE';
      for (const s of ['sales', 'hr', 'sluice', 'legacy']) await db.knex.raw(`${create} ${s}`);
      await db.knex.raw('CREATE TABLE sales.orders (id int PRIMARY KEY, total numeric(11,2) NOT NULL)');
      await db.knex.raw('CREATE TABLE hr.payhist (emp int, seq int, amount numeric(11,2), PRIMARY KEY (emp, seq))');
      const cfg = parseConfig({
        sources: [
          {
            name: 'legacy',
            kind: 'triggers',
            url: db.url,
            pollInterval: '20ms',
            lookBack: '50ms',
            changelog: 'sluice.sluice_changelog',
            tables: ['sales.orders', 'hr.payhist'],
          },
        ],
      }).sources[0]!;
      if (cfg.kind !== 'triggers') throw new Error('unreachable');
      await migrateSource(cfg, quietLog, false);

      const a = createTriggersAdapter(cfg, quietLog);
      expect((await a.preflight()).problems).toEqual([]);
      const got: SourceChange[] = [];
      const ac = new AbortController();
      let started = false;
      // From the changelog's start (a fresh source would first move to its end).
      const from: TriggersOffset = {
        phase: 'stream',
        seq: 0,
        tables: { [cfg.changelog]: { mode: 'changelog', last: null, pending: null } },
      };
      const reading = (async () => {
        for await (const b of a.stream({ signal: ac.signal, log: quietLog, lastPublished: null }, from)) {
          started = true;
          got.push(...b.changes);
        }
      })();

      // The legacy application: PostgreSQL sessions with search_path = sales (unqualified names,
      // as the application) and = legacy; MariaDB sessions whose default database is legacy.
      const statements = [
        ['INSERT INTO orders (id, total) VALUES (1, 835.60)', 'INSERT INTO sales.orders (id, total) VALUES (2, -166.00)'],
        ['UPDATE sales.orders SET total = 10.10 WHERE id = 1', 'INSERT INTO hr.payhist VALUES (7, 1, 100.00)'],
        ['DELETE FROM sales.orders WHERE id = 2', 'UPDATE hr.payhist SET amount = 99.90 WHERE emp = 7'],
        ['DELETE FROM hr.payhist WHERE emp = 7', 'INSERT INTO sales.orders (id, total) VALUES (3, 0.00)'],
      ];
      if (kind === 'postgres') {
        const sales = new pg.Client({ connectionString: db.url });
        const other = new pg.Client({ connectionString: db.url });
        await Promise.all([sales.connect(), other.connect()]);
        await sales.query('SET search_path = sales');
        await other.query('SET search_path = legacy');
        try {
          for (const [s1, s2] of statements) {
            await sales.query(s1!);
            await other.query(s2!);
          }
        } finally {
          await Promise.all([sales.end(), other.end()]);
        }
      } else {
        const u = new URL(db.url);
        u.pathname = '/legacy';
        const c = await mysql.createConnection(u.toString());
        try {
          for (const [s1, s2] of statements) {
            await c.query(s1!.replace('INTO orders', 'INTO sales.orders'));
            await c.query(s2!);
          }
        } finally {
          await c.end();
        }
      }
      try {
        await vi.waitFor(() => expect(got.length).toBe(8), { timeout: 30_000, interval: 50 });
      } finally {
        ac.abort();
        await reading;
        await a.close();
      }
      expect(started).toBe(true);
      expect(got.map((c) => `${c.event.source.schema}.${c.event.source.table}:${c.event.op}`)).toEqual([
        'sales.orders:c',
        'sales.orders:c',
        'sales.orders:u',
        'hr.payhist:c',
        'sales.orders:d',
        'hr.payhist:u',
        'hr.payhist:d',
        'sales.orders:c',
      ]);
      // Exact digits (numeric(11,2) keeps its scale).
      expect(got.map((c) => (c.event.after ?? c.event.before)?.total ?? (c.event.after ?? c.event.before)?.amount)).toEqual([
        '835.60',
        '-166.00',
        '10.10',
        '100.00',
        '-166.00',
        '99.90',
        '99.90',
        '0.00',
      ]);
      // Nothing of Sluice's in the default schema / the URL's database.
      const where = kind === 'postgres' ? "table_schema = 'public'" : "table_schema = 'sluice_test'";
      const stray = await db.knex.raw(`SELECT table_name FROM information_schema.tables WHERE ${where} AND table_name LIKE 'sluice%'`);
      expect(kind === 'postgres' ? (stray as { rows: unknown[] }).rows : (stray as unknown[][])[0]).toEqual([]);
    }, 120_000);
  });
}
