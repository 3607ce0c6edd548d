// Per-key commit order under a concurrent workload (adapters/triggers/README.md "The changelog"):
// several writers on a small key space, transactions held open, rollbacks and deadlocks, inserts,
// updates and deletes, repeated in rounds. After each round the stream replayed per key must equal
// the table value for value, and each key's events must form one chain (every u/d carries as its
// before image the after image of the key's previous event; a c follows nothing or a d), which
// holds only when the key's changes come in commit order. Real PostgreSQL.
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

const ROUNDS = 6;
const WRITERS = 4;
const TXNS = 12;
const KEYS = 6;

interface Writer {
  run(sql: string): Promise<void>;
  close(): Promise<void>;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const kind of ['postgres', 'mariadb'] as const) {
  describe.skipIf(skipReason(kind))(`triggers on ${kind}: per-key order under load`, () => {
    let db: Db;
    beforeAll(async () => {
      db = await startDb(kind);
    }, 120_000);
    afterAll(async () => db?.stop());

    test(`${ROUNDS} rounds of ${WRITERS} concurrent writers: the replay equals the table, each key one chain`, async () => {
      const t = kind === 'postgres' ? 'public.stress' : 'sluice_test.stress';
      await db.knex.raw(
        `CREATE TABLE ${t} (id int PRIMARY KEY, v varchar(40) NOT NULL, amt numeric(11,2) NOT NULL)`,
      );
      const cfg = parseConfig({
        sources: [
          {
            name: 'stress',
            kind: 'triggers',
            url: db.url,
            pollInterval: '20ms',
            lookBack: '50ms',
            chunkSize: 7,
            tables: [t],
          },
        ],
      }).sources[0]!;
      if (cfg.kind !== 'triggers') throw new Error('unreachable');
      await migrateSource(cfg, quietLog, false);
      const upsert = (id: number, v: string, amt: string) =>
        kind === 'postgres'
          ? `INSERT INTO ${t} VALUES (${id}, '${v}', ${amt}) ON CONFLICT (id) DO UPDATE SET v = EXCLUDED.v, amt = EXCLUDED.amt`
          : `INSERT INTO ${t} VALUES (${id}, '${v}', ${amt}) ON DUPLICATE KEY UPDATE v = VALUES(v), amt = VALUES(amt)`;
      const connect = async (): Promise<Writer> => {
        if (kind === 'postgres') {
          const c = new pg.Client({ connectionString: db.url });
          await c.connect();
          c.on('error', () => {});
          return { run: async (sql) => void (await c.query(sql)), close: () => c.end() };
        }
        const c = await mysql.createConnection(db.url);
        await c.query('SET SESSION innodb_lock_wait_timeout = 5');
        return { run: async (sql) => void (await c.query(sql)), close: () => c.end() };
      };

      const a = createTriggersAdapter(cfg, quietLog);
      const got: SourceChange[] = [];
      const ac = new AbortController();
      const from: TriggersOffset = {
        phase: 'stream',
        seq: 0,
        tables: { [cfg.changelog]: { mode: 'changelog', last: null, pending: null } },
      };
      let failure: unknown = null;
      const reading = (async () => {
        for await (const b of a.stream({ signal: ac.signal, log: quietLog, lastPublished: null }, from))
          got.push(...b.changes);
      })().catch((err: unknown) => {
        failure = err;
      });
      const writers = await Promise.all(Array.from({ length: WRITERS }, connect));
      let n = 0;
      try {
        for (let round = 0; round < ROUNDS; round++) {
          await Promise.all(
            writers.map(async (w, wi) => {
              for (let i = 0; i < TXNS; i++) {
                try {
                  await w.run('BEGIN');
                  for (let op = 0; op < 1 + (i % 3); op++) {
                    const id = 1 + Math.floor(Math.random() * KEYS);
                    const r = Math.random();
                    const amt = `${Math.floor(Math.random() * 100000) - 50000}.${Math.random() < 0.3 ? '00' : '60'}`;
                    if (r < 0.45) await w.run(upsert(id, `w${wi}-${++n}`, amt));
                    else if (r < 0.8)
                      await w.run(`UPDATE ${t} SET v = 'w${wi}-${++n}', amt = ${amt} WHERE id = ${id}`);
                    else await w.run(`DELETE FROM ${t} WHERE id = ${id}`);
                    await pause(Math.random() * 10);
                  }
                  // Now and then a transaction held open while others commit around it.
                  if (Math.random() < 0.15) await pause(100 + Math.random() * 200);
                  await w.run(Math.random() < 0.2 ? 'ROLLBACK' : 'COMMIT');
                } catch {
                  await w.run('ROLLBACK').catch(() => {}); // deadlock or lock timeout: the database chose a victim
                }
              }
            }),
          );
          const rows: { id: number; v: string; amt: string }[] = await db.knex(t).select('id', 'v', 'amt');
          const table = new Map<unknown, Record<string, unknown>>(rows.map((r) => [r.id, { ...r }]));
          await vi.waitFor(
            () => {
              if (failure) throw failure as Error;
              expect(replay(got)).toEqual(table);
            },
            { timeout: 30_000, interval: 100 },
          );
        }
      } finally {
        ac.abort();
        await reading;
        await Promise.all(writers.map((w) => w.close().catch(() => {})));
        await a.close();
      }
      const broken: string[] = [];
      const last = new Map<unknown, SourceChange>();
      for (const c of got) {
        const prev = last.get(c.key.id);
        const { op, before } = c.event as { op: string; before: unknown };
        if (op === 'c' && prev && prev.event.op !== 'd')
          broken.push(`key ${String(c.key.id)}: c after ${prev.event.op}`);
        if (op !== 'c' && JSON.stringify(before) !== JSON.stringify(prev?.event.after ?? null))
          broken.push(
            `key ${String(c.key.id)}: ${op} of ${JSON.stringify(before)} after ${JSON.stringify(prev?.event.after)}`,
          );
        last.set(c.key.id, c);
      }
      expect(broken).toEqual([]);
      expect(got.length).toBeGreaterThan(ROUNDS * WRITERS);
    }, 180_000);
  });
}

function replay(changes: readonly SourceChange[]): Map<unknown, Record<string, unknown>> {
  const rows = new Map<unknown, Record<string, unknown>>();
  for (const c of changes) {
    const e = c.event as { op: string; after: Record<string, unknown> | null };
    if (e.op === 'd') rows.delete(c.key.id);
    else rows.set(c.key.id, { ...e.after });
  }
  return rows;
}
