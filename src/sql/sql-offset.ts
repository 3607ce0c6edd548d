// The offset shape of the sources that read a SQL database with queries (polling, triggers): one
// cursor per table (each adapter defines its own), the first pass's key-ordered progress, and a
// sequence number that orders offsets. The stored JSON is the same for both kinds.
import { z } from 'zod';
import { parseJsonOffset, type OffsetCodec } from '../core/offset.js';

export const scalarSchema = z.union([z.string(), z.number(), z.null()]);
export type Scalar = z.infer<typeof scalarSchema>;

/**
 * A value read at one poll (`upTo`) and a horizon mark taken just after it: once every
 * transaction open at the mark has ended, nothing at or below `upTo` can still commit.
 */
export const pendingSchema = z.object({ upTo: scalarSchema, mark: z.string() });
export type Pending = z.infer<typeof pendingSchema>;

/** A first pass read in key-ordered chunks: the table it is in, the last key read and the chunk number. */
export const tableProgressSchema = z.object({
  table: z.string(),
  after: z.array(z.unknown()).nullable(),
  chunk: z.number().int().nonnegative(),
});
export type TableProgress = z.infer<typeof tableProgressSchema>;

/** The offset schema over one adapter's table cursor schema. */
export function sqlOffsetSchema<C extends z.ZodType>(cursor: C) {
  return z.object({
    /** `snapshot` until the first pass of every table is published. */
    phase: z.enum(['snapshot', 'stream']),
    tables: z.record(z.string(), cursor),
    /** The first pass's progress while phase is `snapshot` (sources that read it in key order). */
    snapshot: tableProgressSchema.optional(),
    /** Grows by one per published batch: orders offsets for compare(). */
    seq: z.number().int().nonnegative(),
  });
}

interface SqlOffsetShape<C> {
  readonly phase: 'snapshot' | 'stream';
  readonly tables: Record<string, C>;
  readonly seq: number;
}

/** Serialize, parse, compare and describe one adapter's offsets (`describeCursor` names a table's position). */
export function makeSqlOffsetCodec<O extends SqlOffsetShape<C>, C>(
  kind: string,
  schema: { safeParse(v: unknown): { success: true; data: O } | { success: false } },
  describeCursor: (c: C) => string,
): OffsetCodec<O> {
  return {
    serialize: (o) => JSON.stringify(o),
    parse: (text) => parseJsonOffset(text, schema, kind),
    compare(a, b) {
      if (a.phase !== b.phase) return a.phase === 'snapshot' ? -1 : 1;
      return a.seq - b.seq;
    },
    describe(o) {
      const parts = Object.entries(o.tables).map(([t, c]) => `${t} ${describeCursor(c)}`);
      return `${o.phase === 'snapshot' ? 'first pass: ' : ''}${parts.join('; ')}`;
    },
  };
}
