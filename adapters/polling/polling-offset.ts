// Polling offsets: one cursor per table, plus whether the first pass (op r) is finished.
import { z } from 'zod';
import { parseJsonOffset, type OffsetCodec } from '../../src/core/offset.js';

const scalar = z.union([z.string(), z.number(), z.null()]);

/**
 * A value read at one poll (`upTo`) and a horizon mark taken just after it: once every
 * transaction open at the mark has ended, nothing at or below `upTo` can still commit.
 */
const pendingSchema = z.object({ upTo: scalar, mark: z.string() });

const incrementingSchema = z.object({
  mode: z.literal('incrementing'),
  last: scalar,
  pending: pendingSchema.nullable(),
});

const timestampSchema = z.object({
  mode: z.literal('timestamp'),
  /** The change column's value and the key of the last row read. */
  last: z.object({ value: scalar, key: z.array(z.unknown()) }).nullable(),
  pending: pendingSchema.nullable(),
});

const diffSchema = z.object({
  mode: z.literal('diff'),
  /** Pass number (0 is the first pass); the chunk last read in it and its last key. */
  pass: z.number().int().nonnegative(),
  chunk: z.number().int().nonnegative(),
  after: z.array(z.unknown()).nullable(),
  phase: z.enum(['scan', 'delete', 'done']),
});

/**
 * The changelog entries a triggers source's first pass already holds (its tables were read in one
 * snapshot that saw them): PostgreSQL keeps the snapshot (`pg_current_snapshot()::text`), MySQL the
 * seqs visible in it as inclusive ranges. Entries it covers are skipped when the changelog is read.
 */
const seenSchema = z.union([
  z.strictObject({ snapshot: z.string() }),
  z.strictObject({ ranges: z.array(z.tuple([z.number(), z.number()])) }),
]);

/** A changelog read by the triggers adapter: the ordering value of the last entry published. */
const changelogSchema = z.object({
  mode: z.literal('changelog'),
  last: z.array(scalar).nullable(),
  pending: pendingSchema.nullable(),
  seen: seenSchema.optional(),
});

export const tableCursorSchema = z.discriminatedUnion('mode', [
  incrementingSchema,
  timestampSchema,
  diffSchema,
  changelogSchema,
]);
export type TableCursor = z.infer<typeof tableCursorSchema>;
export type Pending = z.infer<typeof pendingSchema>;
export type Scalar = z.infer<typeof scalar>;
export type Seen = z.infer<typeof seenSchema>;

const offsetSchema = z.object({
  /** `snapshot` until the first pass of every table is published. */
  phase: z.enum(['snapshot', 'stream']),
  tables: z.record(z.string(), tableCursorSchema),
  /** Triggers sources: the table snapshot's progress (key-ordered chunks) while phase is `snapshot`. */
  snapshot: z
    .object({
      table: z.string(),
      after: z.array(z.unknown()).nullable(),
      chunk: z.number().int().nonnegative(),
    })
    .optional(),
  /** Grows by one per published batch: orders offsets for compare(). */
  seq: z.number().int().nonnegative(),
});

export type PollingOffset = z.infer<typeof offsetSchema>;

export function makeOffsetCodec(kind: string): OffsetCodec<PollingOffset> {
  return {
    serialize: (o) => JSON.stringify(o),
    parse: (text) => parseJsonOffset(text, offsetSchema, kind),
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

function describeCursor(c: TableCursor): string {
  switch (c.mode) {
    case 'incrementing':
      return `after ${String(c.last)}${c.pending ? ` (waiting up to ${String(c.pending.upTo)})` : ''}`;
    case 'timestamp':
      return `after ${c.last ? String(c.last.value) : 'start'}${c.pending ? ` (waiting up to ${String(c.pending.upTo)})` : ''}`;
    case 'diff':
      return `pass ${c.pass} ${c.phase} chunk ${c.chunk}`;
    case 'changelog':
      return `after ${c.last ? c.last.join('/') : 'start'}`;
    default: {
      const never: never = c;
      return String(never);
    }
  }
}

export const pollingOffsetCodec = makeOffsetCodec('polling');
