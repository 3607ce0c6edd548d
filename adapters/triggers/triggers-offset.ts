// Triggers offsets: one `changelog` cursor (the ordering value of the last entry published, and
// what the first pass's snapshot already saw) and, during the first pass, the table snapshot's
// key-ordered progress. The shared shape is src/sql/sql-offset.ts.
import { z } from 'zod';
import {
  makeSqlOffsetCodec,
  pendingSchema,
  scalarSchema,
  sqlOffsetSchema,
} from '../../src/sql/sql-offset.js';

/**
 * The changelog entries a first pass already holds (its tables were read in one snapshot that saw
 * them): PostgreSQL keeps the snapshot (`pg_current_snapshot()::text`) and the largest seq it saw
 * (`through`), MySQL the seqs visible in it as inclusive ranges. Entries it covers are skipped when the changelog is read.
 */
export const seenSchema = z.union([
  z.strictObject({ snapshot: z.string(), through: z.number().optional() }),
  z.strictObject({ ranges: z.array(z.tuple([z.number(), z.number()])) }),
]);
export type Seen = z.infer<typeof seenSchema>;

/** The ordering value of the last changelog entry published. */
export const changelogCursorSchema = z.object({
  mode: z.literal('changelog'),
  last: z.array(scalarSchema).nullable(),
  pending: pendingSchema.nullable(),
  seen: seenSchema.optional(),
});

const triggersOffsetSchema = sqlOffsetSchema(changelogCursorSchema);
export type TriggersOffset = z.infer<typeof triggersOffsetSchema>;

export const triggersOffsetCodec = makeSqlOffsetCodec<TriggersOffset, z.infer<typeof changelogCursorSchema>>(
  'triggers',
  triggersOffsetSchema,
  (c) => `after ${c.last ? c.last.join('/') : 'start'}`,
);
