// Polling offsets: one cursor per table (incrementing, timestamp or diff), plus whether the first
// pass (op r) is finished. The shared shape is src/sql/sql-offset.ts.
import { z } from 'zod';
import {
  makeSqlOffsetCodec,
  pendingSchema,
  scalarSchema,
  sqlOffsetSchema,
} from '../../src/sql/sql-offset.js';

const incrementingSchema = z.object({
  mode: z.literal('incrementing'),
  last: scalarSchema,
  pending: pendingSchema.nullable(),
});

const timestampSchema = z.object({
  mode: z.literal('timestamp'),
  /** The change column's value and the key of the last row read. */
  last: z.object({ value: scalarSchema, key: z.array(z.unknown()) }).nullable(),
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

export const tableCursorSchema = z.discriminatedUnion('mode', [
  incrementingSchema,
  timestampSchema,
  diffSchema,
]);
export type TableCursor = z.infer<typeof tableCursorSchema>;

const pollingOffsetSchema = sqlOffsetSchema(tableCursorSchema);
export type PollingOffset = z.infer<typeof pollingOffsetSchema>;

function describeCursor(c: TableCursor): string {
  switch (c.mode) {
    case 'incrementing':
      return `after ${String(c.last)}${c.pending ? ` (waiting up to ${String(c.pending.upTo)})` : ''}`;
    case 'timestamp':
      return `after ${c.last ? String(c.last.value) : 'start'}${c.pending ? ` (waiting up to ${String(c.pending.upTo)})` : ''}`;
    case 'diff':
      return `pass ${c.pass} ${c.phase} chunk ${c.chunk}`;
    default: {
      const never: never = c;
      return String(never);
    }
  }
}

export const pollingOffsetCodec = makeSqlOffsetCodec<PollingOffset, TableCursor>(
  'polling',
  pollingOffsetSchema,
  describeCursor,
);
