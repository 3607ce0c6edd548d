import { z } from 'zod';

export const sourceName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -')
  .describe('Unique; appears in subjects, offsets and source.name');

/** Keys every source kind shares (DESIGN.md "Configuration"). */
export const commonSourceShape = {
  name: sourceName,
  tables: z
    .array(z.string().regex(/^[^.\s]+\.[^.\s]+$/, 'expected schema.table (globs like public.* allowed)'))
    .min(1, 'list at least one table')
    .describe('Include list of schema.table; `schema.*` globs allowed'),
  snapshot: z
    .enum(['initial', 'never'])
    .default('initial')
    .describe('initial: read existing rows first; never: stream only'),
};
