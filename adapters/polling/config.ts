// Config keys of `kind: polling` sources. No driver import here: the config loader reads it.
import { z } from 'zod';
import { commonSourceShape, sqlPollShape } from '../../src/config/source-common.js';

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
