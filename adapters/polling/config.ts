// Config keys of `kind: polling` sources. No driver import here: the config loader reads it.
import { z } from 'zod';
import { duration, parseDuration } from '../../src/config/duration.js';
import { commonSourceShape } from '../../src/config/source-common.js';

/** postgres://, mysql://, mariadb://, sqlite:, mssql:// or oracle:// (the REST layer's dialects). */
export const sqlUrl = z
  .string()
  .regex(
    /^(postgres(ql)?|mysql|mariadb|sqlite3?|mssql|sqlserver|oracle):/,
    'expected a postgres://, mysql://, mariadb://, sqlite:, mssql:// or oracle:// URL',
  )
  .describe('Connection URL of a role that can SELECT the tables');

const tableName = z
  .string()
  .regex(/^[^.\s]+\.[^.\s]+$/, 'expected schema.table (main.t on SQLite, db.t on MySQL)');
const column = z.string().min(1);

export const pollingTableSchema = z.union([
  tableName,
  z
    .strictObject({
      table: tableName,
      mode: z
        .enum(['incrementing', 'timestamp', 'diff'])
        .default('diff')
        .describe(
          'incrementing: a growing id; timestamp: a last-modified column; diff: compare whole passes',
        ),
      column: column
        .optional()
        .describe('The id (incrementing) or last-modified (timestamp) column; not used by diff'),
      key: z.array(column).min(1).optional().describe('Key columns; default the primary key'),
    })
    .superRefine((t, ctx) => {
      if (t.mode !== 'diff' && !t.column)
        ctx.addIssue({ code: 'custom', path: ['column'], message: `mode ${t.mode} needs a column` });
    }),
]);

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

export const pollingSourceSchema = z.strictObject({
  ...commonSourceShape,
  ...sqlPollShape,
  kind: z.literal('polling'),
  tables: z
    .array(pollingTableSchema)
    .min(1, 'list at least one table')
    .describe('schema.table (diff mode on the primary key) or {table, mode, column, key}'),
  stateDir: z
    .string()
    .default('.sluice/state')
    .describe('Where diff and timestamp tables keep the previous pass (one SQLite file per source)'),
});

export type PollingSourceConfig = z.infer<typeof pollingSourceSchema>;
export type PollingTableConfig = z.infer<typeof pollingTableSchema>;

export interface PollingTable {
  readonly table: string;
  readonly mode: 'incrementing' | 'timestamp' | 'diff';
  readonly column?: string | undefined;
  readonly key?: readonly string[] | undefined;
}

export function normalizeTable(t: PollingTableConfig): PollingTable {
  return typeof t === 'string' ? { table: t, mode: 'diff' } : t;
}
