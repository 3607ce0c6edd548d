import { describe, expect, it } from 'vitest';
import {
  keysetPages,
  keysetSnapshot,
  type KeysetProgress,
  type KeysetStep,
  type ReadChunk,
} from '../../src/core/keyset-snapshot.js';

interface T {
  qualified: string;
  key: string[];
  rows: { id: number }[];
}

const table = (name: string, n: number, key = ['id']): T => ({
  qualified: name,
  key,
  rows: Array.from({ length: n }, (_, i) => ({ id: i + 1 })),
});

const read: ReadChunk<T, { id: number }> = (t, after, limit) => {
  const bound = after ? (after[0] as number) : 0;
  const rows = t.rows.filter((r) => r.id > bound).slice(0, limit);
  return Promise.resolve({ rows, lastKey: rows.length ? [rows[rows.length - 1]!.id] : null });
};

async function collect(tables: T[], from: KeysetProgress | null, limit: number) {
  const out: KeysetStep<T, { id: number }>[] = [];
  for await (const step of keysetSnapshot(tables, from, (t, after) => keysetPages(t, after, read, limit)))
    out.push(step);
  return out;
}

const ids = (steps: KeysetStep<T, { id: number }>[]) =>
  steps.flatMap((s) => (s.kind === 'chunk' ? s.rows.map((r) => `${s.table.qualified}:${r.id}`) : []));

describe('keysetSnapshot', () => {
  it('reads every table in order, in chunks, with the progress after each chunk', async () => {
    const steps = await collect([table('a', 5), table('b', 0), table('c', 2)], null, 2);
    expect(ids(steps)).toEqual(['a:1', 'a:2', 'a:3', 'a:4', 'a:5', 'c:1', 'c:2']);
    const progress = steps.map((s) =>
      s.kind === 'chunk' ? s.progress : { done: s.table.qualified, next: s.next },
    );
    expect(progress).toEqual([
      { table: 'a', after: [2], chunk: 1 },
      { table: 'a', after: [4], chunk: 2 },
      { table: 'a', after: [5], chunk: 3 },
      { done: 'a', next: { table: 'b', after: null, chunk: 0 } },
      { done: 'b', next: { table: 'c', after: null, chunk: 0 } },
      { table: 'c', after: [2], chunk: 1 },
      { done: 'c', next: null },
    ]);
  });

  it('resumes after the key and chunk the progress names, and reads later tables whole', async () => {
    const steps = await collect([table('a', 5), table('b', 3)], { table: 'a', after: [3], chunk: 7 }, 10);
    expect(ids(steps)).toEqual(['a:4', 'a:5', 'b:1', 'b:2', 'b:3']);
    expect(steps[0]).toMatchObject({ kind: 'chunk', progress: { table: 'a', after: [5], chunk: 8 } });
  });

  it('starts over at the first table when the progress names a table no longer listed', async () => {
    const steps = await collect([table('a', 2)], { table: 'gone', after: [9], chunk: 3 }, 10);
    expect(ids(steps)).toEqual(['a:1', 'a:2']);
  });

  it('reads a keyless table from its start even when the progress names it', async () => {
    const keyless = { ...table('k', 3), key: [] };
    const steps = await collect([keyless], { table: 'k', after: [2], chunk: 1 }, 10);
    expect(ids(steps)).toEqual(['k:1', 'k:2', 'k:3']);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    for await (const step of keysetSnapshot(
      [table('a', 10)],
      null,
      (t, after) => keysetPages(t, after, read, 2, ac.signal),
      ac.signal,
    )) {
      if (step.kind === 'chunk') seen.push(...step.rows.map((r) => String(r.id)));
      ac.abort();
    }
    expect(seen).toEqual(['1', '2']);
  });
});
