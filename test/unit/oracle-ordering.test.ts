// The `oracle` adapter's ordering and resume logic on generated redo (fake oracledb driver, recorded
// shapes): interleaved transactions on two redo threads, some rolled back, some sharing a commit SCN,
// mined with random window sizes. Whatever the windows, the events come out in (commit SCN, thread,
// txId) order, rolled-back work never appears, and resuming from any committed offset publishes
// exactly the rest.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { OracleAdapter } from '../../adapters/oracle/index.js';
import { oracleSourceSchema } from '../../adapters/oracle/config.js';
import type { OracleOffset } from '../../adapters/oracle/oracle-offset.js';
import type { ChangeBatch } from '../../src/core/source-adapter.js';
import { fakeOracle, type RecordedRedo } from '../support/fake-oracle-logminer.js';
import { quietLog } from '../support/harness.js';
import { ctl, ins, world } from '../support/oracle-recorded-world.js';

interface GenTx {
  start: number;
  rows: number;
  /** SCN distance from its last row to its end. */
  tail: number;
  commit: boolean;
  thread: 1 | 2;
}

const txArb = fc.record({
  start: fc.integer({ min: 0, max: 40 }),
  rows: fc.integer({ min: 1, max: 4 }),
  tail: fc.integer({ min: 0, max: 20 }),
  commit: fc.boolean(),
  thread: fc.constantFrom(1 as const, 2 as const),
});

const BASE = 1000;

/** Redo rows in SCN order for the transactions, and the ids of the expected events in order. */
function script(txs: GenTx[]): { redo: RecordedRedo[]; expected: string[]; end: number } {
  const rows: RecordedRedo[] = [];
  const commits: { scn: number; thread: number; xid: string; ids: string[] }[] = [];
  let id = 0;
  txs.forEach((t, i) => {
    const xid = `X${String(i).padStart(3, '0')}`;
    const th = String(t.thread);
    const s0 = BASE + 1 + t.start;
    rows.push(ctl(String(s0), '6', xid, th));
    const ids: string[] = [];
    for (let r = 0; r < t.rows; r++) {
      const k = ++id;
      ids.push(String(k));
      rows.push(
        ins(String(s0 + r), xid, `insert into "APP"."CUSTOMERS"("ID","NAME") values ('${k}','n''${k}');`, {
          THREAD: th,
          ROW_ID: `R${k}`,
        }),
      );
    }
    const end = s0 + t.rows + t.tail;
    rows.push(ctl(String(end), t.commit ? '7' : '36', xid, th));
    if (t.commit) commits.push({ scn: end, thread: t.thread, xid, ids });
  });
  // LogMiner returns rows in SCN order; rows of one SCN keep their generation order.
  const redo = rows.map((r, i) => ({ r, i })).sort((a, b) => Number(a.r.SCN) - Number(b.r.SCN) || a.i - b.i);
  commits.sort((a, b) => a.scn - b.scn || a.thread - b.thread || (a.xid < b.xid ? -1 : 1));
  const end = Math.max(BASE + 1, ...rows.map((r) => Number(r.SCN))) + 1;
  return { redo: redo.map((x) => x.r), expected: commits.flatMap((c) => c.ids), end };
}

async function collect(
  redo: RecordedRedo[],
  end: number,
  window: number,
  from: OracleOffset,
): Promise<ChangeBatch<OracleOffset>[]> {
  const fake = fakeOracle(world({ currentScns: [String(end)], redo }));
  const cfg = oracleSourceSchema.parse({
    name: 'erp',
    kind: 'oracle',
    url: 'oracle://u:p@db/FREEPDB1',
    tables: ['APP.CUSTOMERS'],
    pollInterval: '1ms',
    miningWindow: window,
  });
  const source = new OracleAdapter(cfg, quietLog, () => Promise.resolve(fake.driver));
  const ac = new AbortController();
  // The stream reads the current SCN at the top of each round: once it has mined up to the end of
  // the redo, the next read means every window was handled.
  fake.onQuery = (sql) => {
    if (sql !== 'SELECT CURRENT_SCN FROM V$DATABASE') return;
    if (fake.windows.at(-1)?.[1] === String(end) || from.scn === String(end)) ac.abort();
  };
  const out: ChangeBatch<OracleOffset>[] = [];
  for await (const b of source.stream({ signal: ac.signal, log: quietLog }, from)) {
    out.push(b);
    if (fake.windows.length > 400) throw new Error('too many windows');
  }
  ac.abort();
  return out;
}

const ids = (bs: ChangeBatch<OracleOffset>[]) =>
  bs.flatMap((b) => b.changes.map((c) => String((c.key as { ID: number }).ID)));

describe('oracle ordering on generated redo (fake oracledb driver)', () => {
  test('any window size: commit order, no rolled-back rows, and every committed offset resumes to exactly the rest', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(txArb, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.nat(),
        async (txs, w1, w2, pick) => {
          const { redo, expected, end } = script(txs);
          const start: OracleOffset = { scn: String(BASE), commitScn: String(BASE) };
          const batches = await collect(redo, end, w1, start);
          expect(ids(batches)).toEqual(expected);
          // Resume from one of the offsets the stream handed out (what the pipeline commits).
          const offsets = batches.map((b, i) => ({ o: b.offset, i })).filter((x) => x.o !== null);
          if (offsets.length === 0) return;
          const at = offsets[pick % offsets.length]!;
          const published = ids(batches.slice(0, at.i + 1));
          const rest = await collect(redo, end, w2, at.o!);
          expect([...published, ...ids(rest)]).toEqual(expected);
        },
      ),
      { numRuns: 60 },
    );
  });
});
