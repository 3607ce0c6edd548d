// Config keys of `kind: triggers` sources. No driver import here: the config loader reads it.
import { z } from 'zod';
import { commonSourceShape, sqlPollShape } from '../../src/config/source-common.js';

const tableName = z
  .string()
  .regex(/^[^.\s]+\.[^.\s]+$/, 'expected schema.table (main.t on SQLite, db.t on MySQL)');

export const triggersSourceSchema = z.strictObject({
  ...commonSourceShape,
  ...sqlPollShape,
  kind: z.literal('triggers'),
  tables: z
    .array(
      z.union([
        tableName,
        z.strictObject({
          table: tableName,
          key: z.array(z.string().min(1)).min(1).optional().describe('Key columns; default the primary key'),
        }),
      ]),
    )
    .min(1, 'list at least one table')
    .describe('schema.table or {table, key}; `sluice migrate` installs a trigger on each'),
  changelog: z
    .string()
    .regex(
      /^(?:[A-Za-z_][A-Za-z0-9_$]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,29}$/,
      'expected [schema.]table: a plain table name (at most 30 characters), optionally after its schema',
    )
    .default('sluice_changelog')
    .describe(
      'The changelog table the triggers write to, as schema.table (database.table on MySQL); a bare name lives in the connection’s default schema',
    ),
});

export type TriggersSourceConfig = z.infer<typeof triggersSourceSchema>;

export function tableOf(t: TriggersSourceConfig['tables'][number]): {
  table: string;
  key?: string[] | undefined;
} {
  return typeof t === 'string' ? { table: t } : t;
}
