// `kind: polling` in timestamp mode against real SQLite, PostgreSQL and MariaDB: rows sharing one
// timestamp across poll and page boundaries (key as tie-breaker), updates that move a row's
// timestamp forward (op u), and a row committed after the cursor reached its timestamp but with a
// smaller key than rows already emitted (the equal-value group is read again, deduplicated by key
// and version). The adapter is driven directly, acknowledging each batch as the dispatcher does.
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createPollingAdapter, type PollingAdapter } from '../../adapters/polling/index.js';
import type { PollingOffset } from '../../adapters/polling/polling-offset.js';
import { parseConfig } from '../../src/config/load.js';
import type { SourceChange } from '../../src/core/change-event.js';
import { quietLog } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { skipReason, startDb, type Db } from '../contract/contract-targets.js';

/** A coarse (whole-second) last-modified column where the database has one: ties are the point. */
const tsType: Record<'sqlite' | 'postgres' | 'mariadb', string> = {
  sqlite: 'TEXT',
  postgres: 'timestamp(0)',
  mariadb: 'DATETIME',
};

const T = (s: number) => `2024-05-01 10:00:${String(s).padStart(2, '0')}`;

/** Runs a source's snapshot then stream, acknowledging each batch after taking it. */
class Reader {
  readonly changes: SourceChange[] = [];
  offset: PollingOffset | null = null;
  readonly #ac = new AbortController();
  readonly #done: Promise<void>;

  constructor(
    readonly adapter: PollingAdapter,
    from: PollingOffset | null,
  ) {
    this.offset = from;
    const ctx = { signal: this.#ac.signal, log: quietLog };
    this.#done = (async () => {
      if (adapter.needsSnapshot(this.offset))
        for await (const b of adapter.snapshot(ctx, this.offset)) await this.#take(b);
      if (this.#ac.signal.aborted) return;
      for await (const b of adapter.stream(ctx, this.offset)) await this.#take(b);
    })();
  }

  async #take(b: { changes: readonly SourceChange[]; offset: PollingOffset | null }): Promise<void> {
    this.changes.push(...b.changes);
    if (b.offset) {
      this.offset = b.offset;
      await this.adapter.acknowledge(b.offset);
    }
  }

  /** "op id name" for every event so far. */
  get seen(): string[] {
    return this.changes.map((c) => {
      const after = c.event.after as { id: number; name: string } | null;
      return `${c.event.op} ${String(c.key.id)} ${after?.name ?? ''}`;
    });
  }

  async until(pred: (seen: string[]) => boolean, what: string): Promise<void> {
    await waitFor(async () => pred(this.seen), `${what} (have ${this.seen.join(', ')})`, 60_000, 50);
  }

  async stop(): Promise<void> {
    this.#ac.abort();
    await this.#done;
    await this.adapter.close();
  }
}

const kinds = ['sqlite', 'postgres', 'mariadb'] as const;

for (const kind of kinds) {
  const skip = skipReason(kind);
  describe.skipIf(skip !== undefined)(`polling timestamp mode on ${kind}${skip ? ` (${skip})` : ''}`, () => {
    let db: Db;
    let knex: Knex;
    let n = 0;

    beforeAll(async () => {
      db = await startDb(kind);
      knex = db.knex;
    });
    afterAll(async () => {
      await db?.stop();
    });

    async function table(): Promise<string> {
      const q = db.qualified(`ts_${++n}`);
      const [schema, name] = q.split('.') as [string, string];
      await knex.schema.withSchema(schema).createTable(name, (tb) => {
        tb.integer('id').primary();
        tb.string('name', 40).notNullable();
        tb.specificType('ts', tsType[kind]).notNullable();
      });
      return q;
    }

    function source(t: string, name: string): PollingAdapter {
      const cfg = parseConfig({
        sources: [
          {
            name,
            kind: 'polling',
            url: db.url,
            pollInterval: '50ms',
            lookBack: '50ms',
            chunkSize: 2,
            stateDir: db.dir,
            tables: [{ table: t, mode: 'timestamp', column: 'ts' }],
          },
        ],
      }).sources[0]!;
      if (cfg.kind !== 'polling') throw new Error('not a polling source');
      return createPollingAdapter(cfg, quietLog);
    }

    const rows = (t: string, ids: number[], ts: string, name = 'v1') =>
      knex(t).insert(ids.map((id) => ({ id, name: `${name} ${id}`, ts })));

    test('rows sharing one timestamp across pages and polls arrive once each, by key', async () => {
      const t = await table();
      await rows(t, [5, 1, 3, 2, 4], T(1));
      const r = new Reader(source(t, `tie${n}`), null);
      await r.until((s) => s.length >= 5, 'the first pass');
      // Same timestamp as the cursor, larger keys: read on the next polls.
      await rows(t, [7, 6], T(1));
      await rows(t, [8], T(1));
      await rows(t, [9], T(2));
      await r.until((s) => s.includes('c 9 v1 9'), 'row 9');
      await r.stop();
      expect(r.seen).toEqual([
        'r 1 v1 1',
        'r 2 v1 2',
        'r 3 v1 3',
        'r 4 v1 4',
        'r 5 v1 5',
        'c 6 v1 6',
        'c 7 v1 7',
        'c 8 v1 8',
        'c 9 v1 9',
      ]);
    });

    test('an update that moves a row forward arrives as u, once', async () => {
      const t = await table();
      await rows(t, [1, 2, 3], T(1));
      const r = new Reader(source(t, `upd${n}`), null);
      await r.until((s) => s.length >= 3, 'the first pass');
      await knex(t)
        .where({ id: 2 })
        .update({ name: 'v2 2', ts: T(5) });
      await rows(t, [4], T(5));
      await knex(t)
        .where({ id: 1 })
        .update({ name: 'v2 1', ts: T(6) });
      await r.until((s) => s.includes('u 1 v2 1'), 'the second update');
      await r.stop();
      expect(r.seen.slice(3)).toEqual(['u 2 v2 2', 'c 4 v1 4', 'u 1 v2 1']);
    });

    test('a row committed late with the cursor’s timestamp and a smaller key is not missed', async () => {
      const t = await table();
      await rows(t, [5, 6], T(3));
      const r = new Reader(source(t, `late${n}`), null);
      await r.until((s) => s.length >= 2, 'the first pass');
      await waitFor(
        async () => r.offset?.phase === 'stream' && r.offset.tables[t]?.mode === 'timestamp',
        'the cursor at rows 5 and 6',
        60_000,
        50,
      );
      // The cursor is at (T3, 6): this row sorts before it with the same timestamp.
      await rows(t, [2], T(3), 'late');
      await r.until((s) => s.includes('c 2 late 2'), 'the late row');
      // Later polls read the T3 group again; nothing in it is emitted twice.
      await rows(t, [10], T(4));
      await r.until((s) => s.includes('c 10 v1 10'), 'row 10');
      await r.stop();
      expect(r.seen).toEqual(['r 5 v1 5', 'r 6 v1 6', 'c 2 late 2', 'c 10 v1 10']);
    });

    test('a restart from the acknowledged offset emits only what changed since', async () => {
      const t = await table();
      await rows(t, [1, 2, 3], T(7));
      const name = `restart${n}`;
      const first = new Reader(source(t, name), null);
      await first.until((s) => s.length >= 3, 'the first pass');
      await rows(t, [4], T(7));
      await first.until((s) => s.includes('c 4 v1 4'), 'row 4');
      await first.stop();
      // While stopped: one more row in the cursor's own timestamp group, and an update.
      await rows(t, [0], T(7), 'stopped');
      await knex(t)
        .where({ id: 3 })
        .update({ name: 'v2 3', ts: T(8) });
      const second = new Reader(source(t, name), first.offset);
      await second.until((s) => s.includes('u 3 v2 3'), 'the update');
      await rows(t, [9], T(9));
      await second.until((s) => s.includes('c 9 v1 9'), 'row 9');
      await second.stop();
      expect(second.seen).toEqual(['c 0 stopped 0', 'u 3 v2 3', 'c 9 v1 9']);
    });
  });
}
