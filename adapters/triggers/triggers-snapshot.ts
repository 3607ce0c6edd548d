// The first pass of a triggers source: every table is read in key-ordered chunks as `r`, all in
// one read snapshot (triggers-seen.ts) that also records which changelog entries it already holds;
// those are skipped when the changelog is read, the others follow the `r` rows. Each row and each
// change therefore arrives once. After a crash mid-pass the rest is read in a new snapshot, but the
// original record still decides what is skipped: a row read after the restart may be followed by
// a change it already holds (at-least-once, in order, nothing lost). Databases without such a
// snapshot move the changelog cursor to its end first instead (at-least-once throughout).
import type { SourceChange } from '../../src/core/change-event.js';
import type { ChangeBatch, SourceContext } from '../../src/core/source-adapter.js';
import { keysetPages, keysetSnapshot } from '../../src/core/keyset-snapshot.js';
import { knexChunks, type KeyedTable } from '../../src/sql/keyset.js';
import type { SqlSession } from '../../src/sql/sql-session.js';
import { bindable } from '../../src/sql/sql-values.js';
import type { TriggersOffset } from './triggers-offset.js';
import type { ChangelogCursor, ChangelogReader } from './triggers-streaming.js';

export async function* snapshotTables(
  s: SqlSession,
  reader: ChangelogReader,
  tables: readonly KeyedTable[],
  ctx: SourceContext,
  from: TriggersOffset | null,
  chunkSize: number,
  pollInterval: number,
): AsyncGenerator<ChangeBatch<TriggersOffset>> {
  const changelog = reader.key;
  const capture = s.dialect.triggers;
  let seq = from?.seq ?? 0;
  const state: TriggersOffset = from
    ? structuredClone(from)
    : { phase: 'snapshot', seq, tables: { [changelog]: { mode: 'changelog', last: null, pending: null } } };
  const view = await capture.openReadView(reader.knex);
  try {
    if (!state.snapshot) {
      const c = state.tables[changelog] as ChangelogCursor;
      if (view) await capture.captureSeen(view, reader.ref, c);
      else await reader.skipToEnd(c, ctx.signal, pollInterval);
      if (ctx.signal.aborted) return;
      c.pending = null;
      state.snapshot = { table: tables[0]?.qualified ?? '', after: null, chunk: 0 };
      yield { changes: [], offset: { ...structuredClone(state), seq: ++seq }, sync: true };
    }
    const snap = state.snapshot;
    let firstIndex = from?.snapshot ? resumeAfterPublished(snap, ctx, tables) : 0;
    const read = knexChunks(view ?? reader.knex);
    const steps = keysetSnapshot(
      tables,
      snap,
      (t, after) => keysetPages(t, after, read, chunkSize, ctx.signal),
      ctx.signal,
    );
    for await (const step of steps) {
      if (step.kind === 'table-done') {
        if (step.next) Object.assign(snap, step.next);
        continue;
      }
      const t = step.table;
      Object.assign(snap, step.progress);
      const position = `${t.qualified}:s:${snap.chunk}`;
      const base = firstIndex;
      firstIndex = 0;
      const changes: SourceChange[] = step.rows.map((row, i) =>
        s.change({
          op: 'r',
          schema: t.schema,
          table: t.name,
          before: null,
          after: row,
          key: Object.fromEntries(t.key.map((k) => [k, row[k]])),
          tsMs: Date.now(),
          snapshot: 'true',
          position,
          index: base + i,
        }),
      );
      yield { changes, offset: { ...structuredClone(state), seq: ++seq } };
    }
    if (ctx.signal.aborted) return;
  } finally {
    await view?.rollback().catch(() => {});
  }
  const done: TriggersOffset = { phase: 'stream', seq: seq + 1, tables: structuredClone(state.tables) };
  yield { changes: [], offset: done, sync: true };
  ctx.log.info({ tables: tables.length }, 'first pass complete');
}

/**
 * After a crash the stream may hold rows past the committed chunk: resume right after the last
 * one (its chunk, key and index) rather than re-read the chunk, whose rows may have shifted
 * (deletes, inserts) onto ids JetStream already holds and would drop. Returns the first index.
 */
export function resumeAfterPublished(
  snap: NonNullable<TriggersOffset['snapshot']>,
  ctx: SourceContext,
  tables: readonly KeyedTable[],
): number {
  const last = ctx.lastPublished;
  const m = last ? /^(.*):s:(\d+)$/.exec(last.position) : null;
  if (!last || !m || (last.event as { op?: unknown } | null)?.op !== 'r') return 0;
  const at = tables.findIndex((t) => t.qualified === m[1]);
  const from = tables.findIndex((t) => t.qualified === snap.table);
  const chunk = Number(m[2]);
  if (at < 0 || at < from || (at === from && chunk <= snap.chunk)) return 0;
  const t = tables[at]!;
  const key = last.key as Record<string, unknown> | null;
  if (!key || t.key.some((k) => !(k in key))) return 0;
  Object.assign(snap, { table: t.qualified, after: t.key.map((k) => bindable(key[k])), chunk: chunk - 1 });
  return last.index + 1;
}
