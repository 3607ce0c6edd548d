// The initial snapshot, consistent with the SCN streaming starts from: every table is read with a
// flashback query `AS OF SCN :at`, in key order, in chunks; the stream then publishes only the
// transactions that committed after `at` (everything at or below it is in the snapshot), mining
// from the first SCN of the oldest transaction that was open at `at` (so none of its rows is
// missed). An interrupted snapshot resumes AS OF the same SCN after the last key published; an
// SCN too old for undo (ORA-01555, ORA-08181) says to start again.
import type { SourceChange } from '../../src/core/change-event.js';
import { keysetPages, keysetSnapshot, type KeysetPage } from '../../src/core/keyset-snapshot.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { currentScn } from './oracle-logminer.js';
import { minScn, type OracleOffset } from './oracle-offset.js';
import { keyOf, type OracleRow, type OracleSession, type TableInfo } from './oracle-session.js';
import { selectTerm, snapshotValue } from './oracle-types.js';

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

/**
 * The SCN the snapshot reads at and the SCN mining must start from. The oldest open transaction
 * is read between two reads of the current SCN: a transaction open at `at` was either open at the
 * V$TRANSACTION read (its START_SCN counts) or began after the first read (at or after `first`).
 */
export async function snapshotPoint(s: OracleSession): Promise<{ at: string; from: string }> {
  const first = await currentScn(s);
  const [open] = await s.rows('SELECT MIN(START_SCN) AS START_SCN FROM V$TRANSACTION');
  const at = await currentScn(s);
  const oldest = open?.START_SCN;
  return { at, from: oldest === null || oldest === undefined ? first : minScn(first, String(oldest)) };
}

/** `WHERE (k1 > :b1) OR (k1 = :b1 AND k2 > :b2) ...`: Oracle has no row-value comparison. */
function afterClause(key: readonly string[], from: number): string {
  const terms = key.map((_, i) => {
    const eq = key.slice(0, i).map((k, j) => `${quote(k)} = :${from + j}`);
    return `(${[...eq, `${quote(key[i]!)} > :${from + i}`].join(' AND ')})`;
  });
  return terms.join(' OR ');
}

async function readChunk(
  s: OracleSession,
  at: string,
  t: TableInfo,
  after: readonly unknown[] | null,
  limit: number,
): Promise<KeysetPage<OracleRow>> {
  const list = t.columns.map((c) => selectTerm(c, quote)).join(', ');
  const order = t.key.map(quote).join(', ');
  const where = after && t.key.length ? ` WHERE ${afterClause(t.key, 2)}` : '';
  const tail = t.key.length ? ` ORDER BY ${order} FETCH FIRST ${limit} ROWS ONLY` : '';
  const sql = `SELECT ${list} FROM ${quote(t.owner)}.${quote(t.name)} AS OF SCN :1${where}${tail}`;
  const rows = await s.rows(sql, [at, ...(after && t.key.length ? after : [])]);
  const last = rows[rows.length - 1];
  return { rows, lastKey: t.key.length && last ? t.key.map((k) => last[k]) : null };
}

export async function* snapshot(
  s: OracleSession,
  ctx: SourceContext,
  from: OracleOffset | null,
): AsyncGenerator<ChangeBatch<OracleOffset>> {
  let at: string;
  let low: string;
  try {
    if (from?.snapshot) {
      at = from.snapshot.at;
      low = from.scn;
    } else {
      const p = await snapshotPoint(s);
      at = p.at;
      low = p.from;
    }
  } catch (err) {
    throw s.classify(err, 'cannot read the snapshot SCN');
  }
  const tables = [...s.tables.values()];
  const progress = from?.snapshot
    ? { table: from.snapshot.table, after: from.snapshot.after, chunk: from.snapshot.chunk }
    : null;
  const limit = s.cfg.snapshotChunkSize;
  // Resuming: the snapshot's SCN is the commit point; nothing is committed past it yet.
  if (!from?.snapshot)
    yield {
      changes: [],
      offset: {
        scn: low,
        commitScn: at,
        snapshot: { at, table: tables[0]?.qualified ?? '', after: null, chunk: 0 },
      },
      sync: true,
    };
  const steps = keysetSnapshot(
    tables,
    progress,
    (t, after) => keysetPages(t, after, (tt, a, n) => readChunk(s, at, tt, a, n), limit, ctx.signal),
    ctx.signal,
  );
  try {
    for await (const step of steps) {
      if (step.kind === 'table-done') continue;
      const t = step.table;
      const tableIndex = tables.indexOf(t);
      const base = (step.progress.chunk - 1) * limit;
      const changes: SourceChange[] = step.rows.map((raw, i) => {
        const after: Record<string, unknown> = {};
        for (const c of t.columns) after[c.name] = snapshotValue(c, raw[c.name]);
        return s.change({
          op: 'r',
          schema: t.owner,
          table: t.name,
          before: null,
          after,
          key: keyOf(t, after),
          tsMs: Date.now(),
          snapshot: 'true',
          position: `snapshot-${at}-${tableIndex}`,
          index: base + i,
          scn: at,
        });
      });
      yield {
        changes,
        offset: {
          scn: low,
          commitScn: at,
          snapshot: { at, ...step.progress, after: step.progress.after ? [...step.progress.after] : null },
        },
      };
    }
  } catch (err) {
    throw s.classify(err, `cannot read the snapshot AS OF SCN ${at}`);
  }
  if (ctx.signal.aborted) return;
  yield { changes: [], offset: { scn: low, commitScn: at } };
}
