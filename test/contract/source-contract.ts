// The contract every source adapter passes: snapshot; c/u/d; resume from a committed
// offset without gaps; concurrent writers where the transaction that opens first commits last;
// abort; idempotent close. Each adapter's *.contract.test.ts calls runSourceContract with a target
// that starts its database and says which source config and which operations it supports.
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { changeEventSchema } from '../../src/core/change-event.js';
import type { AnySourceAdapter } from '../../src/core/source-adapter.js';
import type { StoredEvent } from '../../src/nats/stream-reader.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { createSourceAdapter } from '../../src/pipeline/adapters.js';
import { startRuntime, type Runtime } from '../../src/pipeline/runtime.js';
import { toVerifiedEvent, verifyStream, type VerifyReport } from '../support/stream-verifier.js';
import { quietLog } from '../support/harness.js';
import { TestNatsServer } from '../support/nats-server.js';
import { waitFor } from '../support/ports.js';
import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface ContractTarget {
  /** Starts the database; resolves to a knex connected to it (tables are created through it). */
  start(): Promise<Knex>;
  stop(): Promise<void>;
  /** schema.table for a new test table named `name`. */
  qualified(name: string): string;
  /** The raw source config (without nats) for these tables. */
  source(name: string, tables: string[]): Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Runs before the source first starts on these tables (e.g. sluice migrate). */
  install?(source: Record<string, unknown>): Promise<void>;
  /** Which changes the source sees (incrementing polling sees inserts only). */
  readonly sees: { readonly updates: boolean; readonly deletes: boolean };
  /** Why the concurrent-writers case cannot run on this database, if it cannot. */
  readonly noConcurrentWriters?: string;
  /**
   * The first pass and the changes committed while it runs arrive exactly once: no `r` followed by
   * a `c`/`u` it already holds, no change of a row twice. Targets without it skip that test.
   */
  readonly firstPassExactlyOnce?: boolean;
  /** Source keys that make the first pass read in small chunks (so writes land inside it). */
  readonly smallChunks?: Record<string, unknown>;
  /** Rows as events carry them (decoded the same way). */
  normalize?(row: Record<string, unknown>): Record<string, unknown>;
}

export type ContractFactory = () => ContractTarget;

let counter = 0;
const uniq = (p: string) => `${p}${process.pid % 1000}_${++counter}`;

export function runSourceContract(name: string, factory: ContractFactory | { skip: string }): void {
  if ('skip' in factory) {
    describe.skip(`source contract: ${name} (skipped: ${factory.skip})`, () => {
      test('not run', () => {});
    });
    return;
  }
  describe(`source contract: ${name}`, () => {
    const target = factory();
    let knex: Knex;
    let nats: TestNatsServer;
    let nc: NatsConnection;
    const runtimes: Runtime[] = [];

    beforeAll(async () => {
      [knex, nats] = await Promise.all([target.start(), TestNatsServer.start()]);
      nc = await connect({ servers: nats.url });
    });
    afterAll(async () => {
      for (const rt of runtimes) await rt.stop().catch(() => {});
      await nc?.close().catch(() => {});
      await knex?.destroy().catch(() => {});
      await Promise.allSettled([target.stop(), nats?.stop()]);
    });

    async function makeTable(rows: number): Promise<string> {
      const t = target.qualified(uniq('ct'));
      const [schema, name] = t.split('.') as [string, string];
      await knex.schema.withSchema(schema).createTable(name, (tb) => {
        tb.integer('id').primary();
        tb.string('name', 40).notNullable();
      });
      for (let i = 1; i <= rows; i++) await knex(t).insert({ id: i, name: `row ${i}` });
      return t;
    }

    async function rawSource(tables: string[]): Promise<Record<string, unknown>> {
      return { name: uniq('src'), ...(await target.source('', tables)) };
    }

    async function run(
      source: Record<string, unknown>,
      natsExtra: Record<string, unknown> = {},
    ): Promise<Runtime> {
      const cfg = parseConfig({
        nats: { servers: nats.url, commitInterval: '50ms', leaseTtl: '2s', ...natsExtra },
        sources: [source],
        log: { level: 'warn' },
      });
      const rt = await startRuntime(cfg, quietLog);
      runtimes.push(rt);
      return rt;
    }

    async function stopRt(rt: Runtime): Promise<void> {
      await rt.stop();
      runtimes.splice(runtimes.indexOf(rt), 1);
    }

    const events = (source: string) => readAll(nc, 'SLUICE', `sluice.${source}.>`);

    async function waitEvents(
      source: string,
      pred: (evs: StoredEvent[]) => boolean,
      what: string,
    ): Promise<StoredEvent[]> {
      let last: StoredEvent[] = [];
      try {
        return await waitFor(
          async () => {
            last = await events(source);
            return pred(last) ? last : null;
          },
          what,
          90_000,
          200,
        );
      } catch (err) {
        throw new Error(
          `${(err as Error).message} (have ${last.length} events: ${last.map((e) => e.event.op).join('')})`,
          {
            cause: err,
          },
        );
      }
    }

    async function verify(source: string, tables: string[]): Promise<VerifyReport> {
      const evs = await events(source);
      const db = new Map<string, { key: string[]; rows: Record<string, unknown>[] }>();
      for (const t of tables) {
        const rows = (await knex(t).select('*').orderBy('id')) as Record<string, unknown>[];
        db.set(t, { key: ['id'], rows: rows.map((r) => (target.normalize ? target.normalize(r) : r)) });
      }
      // Each streamed change has its own Nats-Msg-Id: it stands in for the LSN the verifier keys duplicates by.
      return verifyStream(
        evs.map((e) => ({ ...toVerifiedEvent(e.event, e.key), lsn: e.msgId })),
        db,
      );
    }

    const count = (evs: StoredEvent[], op: string) => evs.filter((e) => e.event.op === op).length;

    test('snapshot: existing rows arrive once each as r events, valid per the event schema', async () => {
      const t = await makeTable(5);
      const src = await rawSource([t]);
      await target.install?.(src);
      const rt = await run(src);
      const evs = await waitEvents(String(src.name), (e) => count(e, 'r') >= 5, '5 r events');
      for (const e of evs) expect(changeEventSchema.safeParse(e.event).success).toBe(true);
      await stopRt(rt);
      const report = await verify(String(src.name), [t]);
      expect(report.examples).toEqual([]);
      expect(report.ok).toBe(true);
    });

    test('c/u/d: inserts, updates and deletes arrive in order with the right op', async () => {
      const t = await makeTable(3);
      const src = await rawSource([t]);
      await target.install?.(src);
      const rt = await run(src);
      await waitEvents(String(src.name), (e) => count(e, 'r') >= 3, '3 r events');
      await knex(t).insert({ id: 10, name: 'new' });
      if (target.sees.updates) await knex(t).where({ id: 2 }).update({ name: 'changed' });
      if (target.sees.deletes) await knex(t).where({ id: 3 }).delete();
      const want = 1 + (target.sees.updates ? 1 : 0) + (target.sees.deletes ? 1 : 0);
      const evs = await waitEvents(String(src.name), (e) => e.length >= 3 + want, `${want} changes`);
      await stopRt(rt);
      expect(
        evs
          .slice(3)
          .map((e) => e.event.op)
          .sort(),
      ).toEqual(['c', ...(target.sees.updates ? ['u'] : []), ...(target.sees.deletes ? ['d'] : [])].sort());
      const c = evs.find((e) => e.event.op === 'c')!;
      expect((c.event.after as Record<string, unknown>).name).toBe('new');
      expect(c.key).toEqual({ id: 10 });
      if (target.sees.deletes) expect(evs.find((e) => e.event.op === 'd')!.key).toEqual({ id: 3 });
      if (target.sees.updates && target.sees.deletes) {
        const report = await verify(String(src.name), [t]);
        expect(report.examples).toEqual([]);
        expect(report.ok).toBe(true);
      }
    });

    test('resume: changes made while stopped arrive after a restart, none lost, none twice', async () => {
      const t = await makeTable(4);
      const src = await rawSource([t]);
      await target.install?.(src);
      let rt = await run(src);
      await waitEvents(String(src.name), (e) => count(e, 'r') >= 4, '4 r events');
      await knex(t).insert({ id: 20, name: 'before stop' });
      await waitEvents(String(src.name), (e) => count(e, 'c') >= 1, 'the first insert');
      await stopRt(rt);
      for (let i = 21; i <= 40; i++) await knex(t).insert({ id: i, name: `while stopped ${i}` });
      if (target.sees.updates) await knex(t).where({ id: 1 }).update({ name: 'updated while stopped' });
      if (target.sees.deletes) await knex(t).where({ id: 2 }).delete();
      rt = await run(src);
      await waitEvents(String(src.name), (e) => count(e, 'c') >= 21, '21 inserts');
      if (target.sees.deletes) await waitEvents(String(src.name), (e) => count(e, 'd') >= 1, 'the delete');
      if (target.sees.updates) await waitEvents(String(src.name), (e) => count(e, 'u') >= 1, 'the update');
      await stopRt(rt);
      const evs = await events(String(src.name));
      expect(count(evs, 'r')).toBe(4);
      expect(count(evs, 'c')).toBe(21);
      const report = await verify(String(src.name), [t]);
      expect(report.duplicates).toBe(0);
      if (target.sees.updates && target.sees.deletes) expect(report.ok).toBe(true);
    });

    test(`concurrent writers: a transaction that opens first and commits last is not lost${target.noConcurrentWriters ? ` (skipped: ${target.noConcurrentWriters})` : ''}`, async (ctx) => {
      if (target.noConcurrentWriters) return ctx.skip();
      const t = await makeTable(0);
      const src = await rawSource([t]);
      await target.install?.(src);
      const rt = await run(src);
      await waitFor(async () => rt.coordinators.every((c) => c.state === 'streaming'), 'streaming', 60_000);
      // The long transaction takes the smaller id first and holds it while others commit larger ones.
      const trx = await knex.transaction();
      await trx(t).insert({ id: 1, name: 'opened first, committed last' });
      for (let i = 2; i <= 200; i++) await knex(t).insert({ id: i, name: `quick ${i}` });
      // Hold the long transaction open across several polls (a deliberate hold, not a wait for an outcome).
      await sleepTrue(1500);
      await trx.commit();
      const evs = await waitEvents(String(src.name), (e) => count(e, 'c') >= 200, '200 inserts');
      await stopRt(rt);
      expect(new Set(evs.map((e) => (e.key as { id: number }).id)).size).toBe(200);
      const report = await verify(String(src.name), [t]);
      expect(report.examples).toEqual([]);
      expect(report.ok).toBe(true);
    });

    test(`first pass under concurrent writes: every row and every change exactly once${target.firstPassExactlyOnce ? '' : ' (skipped: the source does not claim it)'}`, async (ctx) => {
      if (!target.firstPassExactlyOnce) return ctx.skip();
      const rows = 3000;
      const t = await makeTable(0);
      await knex.batchInsert(
        t,
        Array.from({ length: rows }, (_, i) => ({ id: i + 1, name: `row ${i + 1}` })),
        250,
      );
      // Small chunks make the pass long enough for the writer below to commit inside it.
      const src: Record<string, unknown> = { ...(await rawSource([t])), ...target.smallChunks };
      await target.install?.(src);
      // Inserts, updates and deletes in their own transactions, before, during and after the pass;
      // every write leaves a value no other write leaves, so a change that arrives twice shows.
      let stop = false;
      let writes = 0;
      let duringPass = 0;
      let rt: Runtime | null = null;
      const streaming = () => rt !== null && rt.coordinators.every((c) => c.state === 'streaming');
      const writer = (async () => {
        for (let i = 1; !stop; i++) {
          const during = rt !== null && !streaming();
          if (i % 3 === 0) await knex(t).insert({ id: rows + i, name: `w${i}` });
          else if (i % 3 === 1)
            await knex(t)
              .where({ id: ((i * 7919) % (rows + i)) + 1 })
              .update({ name: `w${i}` });
          else
            await knex(t)
              .where({ id: ((i * 104729) % rows) + 1 })
              .delete();
          writes++;
          if (during) duringPass++;
          // A synchronous driver (better-sqlite3) settles every query in microtasks: let timers run.
          await new Promise((r) => setImmediate(r));
        }
      })();
      try {
        await waitFor(async () => writes >= 50, 'writes before the pass', 30_000);
        // One event in flight at a time: the pass then yields to the writer at every event, so
        // writes land inside it however fast the database reads (SQLite could finish it between a
        // handful of writes).
        rt = await run(src, { publish: { window: 1 } });
        await waitFor(async () => streaming(), 'the first pass to end', 90_000);
        const after = writes;
        await waitFor(async () => writes >= after + 100, 'writes after the pass', 30_000);
      } finally {
        stop = true;
        await writer;
      }
      expect(duringPass).toBeGreaterThan(10);
      let last: VerifyReport | null = null;
      await waitFor(
        async () => (last = await verify(String(src.name), [t])).ok,
        'the stream to match the table',
        90_000,
        500,
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}: ${JSON.stringify(last?.examples.slice(0, 5))}`, {
          cause: err,
        });
      });
      await stopRt(rt);
      const report = await verify(String(src.name), [t]);
      expect(report.examples).toEqual([]);
      expect(report.duplicates).toBe(0);
      // Per key, each event moves the row to a state it was not in: r/c only when absent, u with a
      // new image, d only when present.
      const state = new Map<number, string | null>();
      const repeats: string[] = [];
      for (const e of await events(String(src.name))) {
        const id = (e.key as { id: number }).id;
        const prev = state.get(id) ?? null;
        const after = e.event.after ? JSON.stringify((e.event.after as { name: unknown }).name) : null;
        const ok =
          e.event.op === 'r' || e.event.op === 'c'
            ? prev === null
            : e.event.op === 'u'
              ? prev !== null && prev !== after
              : prev !== null;
        if (!ok) repeats.push(`${id}: ${e.event.op} ${after ?? ''} after ${prev ?? 'nothing'}`);
        state.set(id, e.event.op === 'd' ? null : after);
      }
      expect(repeats.slice(0, 10)).toEqual([]);
    });

    test('abort: stream() ends soon after its signal aborts', async () => {
      const t = await makeTable(1);
      const src = await rawSource([t]);
      await target.install?.(src);
      const cfg = parseConfig({ nats: { servers: nats.url }, sources: [src] });
      const adapter: AnySourceAdapter = await createSourceAdapter(cfg.sources[0]!, quietLog);
      const ac = new AbortController();
      let ended = false;
      const consumed = (async () => {
        for await (const _batch of adapter.stream({ signal: ac.signal, log: quietLog }, null)) {
          // drain
        }
        ended = true;
      })();
      await sleepTrue(300);
      expect(ended).toBe(false);
      ac.abort();
      await consumed;
      expect(ended).toBe(true);
      await adapter.close();
    });

    test('close is idempotent', async () => {
      const t = await makeTable(1);
      const src = await rawSource([t]);
      await target.install?.(src);
      const cfg = parseConfig({ nats: { servers: nats.url }, sources: [src] });
      const adapter = await createSourceAdapter(cfg.sources[0]!, quietLog);
      await adapter.preflight();
      await adapter.close();
      await adapter.close();
      const again = await adapter.preflight();
      expect(again.problems).toEqual([]);
      await adapter.close();
    });
  });
}

/** A pause inside a waitFor condition (never a bare sleep deciding a test's outcome). */
function sleepTrue(ms: number): Promise<boolean> {
  return new Promise((r) => setTimeout(() => r(true), ms));
}
