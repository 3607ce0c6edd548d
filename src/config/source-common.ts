// Config keys that several source kinds share. No driver import here: the config loader reads it.
import { z } from 'zod';
import { dbTlsSchema } from './db-tls.js';
import { duration, parseDuration } from './duration.js';
import { outboxSchema } from './outbox.js';

export const sourceName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected 1-64 letters, digits, _ or -')
  .describe('Unique; appears in subjects, offsets and source.name');

/** Keys every source kind shares (README "Configuration"). */
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
  tls: dbTlsSchema.optional(),
  outbox: z
    .array(outboxSchema)
    .default([])
    .describe(
      'Tables published as application events on <prefix>.outbox.<aggregate>.<type> (README "Outbox")',
    ),
};

/** postgres://, mysql://, mariadb://, sqlite:, mssql:// or oracle:// (the dialects in src/sql). */
export const sqlUrl = z
  .string()
  .regex(
    /^(postgres(ql)?|mysql|mariadb|sqlite3?|mssql|sqlserver|oracle):/,
    'expected a postgres://, mysql://, mariadb://, sqlite:, mssql:// or oracle:// URL',
  )
  .describe('Connection URL of a role that can SELECT the tables');

/** Keys shared by `polling` and `triggers`: both read a SQL database through knex at an interval. */
export const sqlPollShape = {
  url: sqlUrl,
  pollInterval: duration('1s').describe('Time between two polls of a table'),
  lookBack: z
    .union([z.string(), z.number()])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const ms = parseDuration(v);
      if (ms === null) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a duration like 500ms or 2s, got ${JSON.stringify(v)}`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .describe(
      'A value is read only once the poll that saw it is this old (default 2s on MySQL and SQLite, 0 elsewhere): the window a transaction that drew a smaller value has to commit, beside the database-specific bound',
    ),
  chunkSize: z.number().int().positive().default(5000).describe('Rows per query (and per batch)'),
};
