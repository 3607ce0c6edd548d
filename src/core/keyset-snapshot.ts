// Key-ordered reads of whole tables in chunks, resumable from progress a source keeps in its
// offset: the PostgreSQL snapshot, the triggers source's first pass and polling's diff passes all
// read through here. How one chunk is read (knex, or raw SQL inside an exported snapshot) is the
// caller's; the order, the bounds and the progress are this file's.

/** A table read in key order; keyless tables are read in one go (no resumable point inside). */
export interface KeysetTable {
  readonly qualified: string;
  readonly key: readonly string[];
}

export interface KeysetPage<R> {
  readonly rows: readonly R[];
  /** The last row's key values, as the next page's lower bound takes them; null for keyless tables. */
  readonly lastKey: readonly unknown[] | null;
}

/** Up to `limit` rows of `table` strictly after `after` (from the start when null), in key order. */
export type ReadChunk<T, R> = (
  table: T,
  after: readonly unknown[] | null,
  limit: number,
) => Promise<KeysetPage<R>>;

/** Where a read of a list of tables stands: the table, the last key read in it, the chunks read in it. */
export interface KeysetProgress {
  readonly table: string;
  readonly after: readonly unknown[] | null;
  readonly chunk: number;
}

export type KeysetStep<T, R> =
  /** A chunk of rows; `progress` is where a restart resumes once they are published. */
  | {
      readonly kind: 'chunk';
      readonly table: T;
      readonly rows: readonly R[];
      readonly progress: KeysetProgress;
    }
  /** A table is finished; `next` is the start of the following one (null after the last). */
  | { readonly kind: 'table-done'; readonly table: T; readonly next: KeysetProgress | null };

/** The pages of one table after `after`, each read by `read`, until a short or empty one. */
export async function* keysetPages<T, R>(
  table: T,
  after: readonly unknown[] | null,
  read: ReadChunk<T, R>,
  limit: number,
  signal?: AbortSignal,
): AsyncGenerator<KeysetPage<R>> {
  let bound = after;
  for (;;) {
    if (signal?.aborted) return;
    const page = await read(table, bound, limit);
    if (page.rows.length === 0) return;
    yield page;
    if (page.rows.length < limit || page.lastKey === null) return;
    bound = page.lastKey;
  }
}

/**
 * Every table from `from` on (all of them when null), in list order, each read by `pages` from
 * its bound: `from.after` in the table it names (ignored for a keyless one), the start elsewhere.
 * A table named by `from` that is no longer configured restarts the read at the first table.
 */
export async function* keysetSnapshot<T extends KeysetTable, R>(
  tables: readonly T[],
  from: KeysetProgress | null,
  pages: (table: T, after: readonly unknown[] | null) => AsyncIterable<KeysetPage<R>>,
  signal?: AbortSignal,
): AsyncGenerator<KeysetStep<T, R>> {
  const first = from
    ? Math.max(
        0,
        tables.findIndex((t) => t.qualified === from.table),
      )
    : 0;
  const resumes = from !== null && tables[first]?.qualified === from.table;
  for (let i = first; i < tables.length; i++) {
    const t = tables[i]!;
    const keyed = t.key.length > 0;
    let after = i === first && resumes && keyed ? from.after : null;
    let chunk = i === first && resumes && keyed ? from.chunk : 0;
    for await (const page of pages(t, after)) {
      if (signal?.aborted) return;
      after = page.lastKey;
      chunk++;
      yield { kind: 'chunk', table: t, rows: page.rows, progress: { table: t.qualified, after, chunk } };
    }
    if (signal?.aborted) return;
    const next = tables[i + 1];
    yield {
      kind: 'table-done',
      table: t,
      next: next ? { table: next.qualified, after: null, chunk: 0 } : null,
    };
  }
}
