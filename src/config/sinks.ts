// The `sinks` section: apply one source's events to another database (docs/sinks.md).
import { z } from 'zod';
import { dbTlsSchema } from './db-tls.js';
import { duration } from './duration.js';

const token = /^[A-Za-z0-9_-]+$/;
const tableName = /^[^.\s]+(\.[^.\s]+)?$/;

const changedAt = z
  .string()
  .min(1)
  .optional()
  .describe(
    "conflicts newerWins: a target column holding the row's last-change time (kept by the target's writers and by this sink); default: the target's commit timestamp where it keeps one (PostgreSQL with track_commit_timestamp)",
  );

/** A source table landed as a table of the target, with column renames. */
const tableTargetSchema = z
  .strictObject({
    table: z
      .string()
      .regex(tableName, 'expected table or schema.table')
      .optional()
      .describe("Target table; default: the source table's name in the target's default schema"),
    columns: z
      .record(z.string().min(1), z.string().min(1))
      .default({})
      .describe('source column → target column; unlisted columns keep their names'),
    exclude: z.array(z.string().min(1)).default([]).describe('Source columns not written to the target'),
    changedAt,
  })
  .superRefine((t, ctx) => {
    const targets = new Map<string, string>();
    for (const [from, to] of Object.entries(t.columns)) {
      const other = targets.get(to);
      if (other !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['columns', from],
          message: `target column ${to} is already written by ${other}`,
        });
      targets.set(to, from);
    }
  });

/** A source table landed through a resource's fields and codecs (api.resources). */
const resourceTargetSchema = z.strictObject({
  resource: z.string().min(1).describe('An api.resources name: its fields are the target columns'),
  table: z
    .string()
    .regex(tableName, 'expected table or schema.table')
    .optional()
    .describe('Target table; default: the resource name'),
  changedAt,
});

export const sinkTableSchema = z.union([resourceTargetSchema, tableTargetSchema]);
export type SinkTableConfig = z.output<typeof sinkTableSchema>;

export const sinkSchema = z.strictObject({
  name: z
    .string()
    .regex(token, 'expected letters, digits, _ or -')
    .describe('Names the consumer, the position row, the lease and the dead-letter subject'),
  url: z.string().min(1).describe('Target database URL (postgres://, mysql://, mariadb://, sqlite:, ...)'),
  tls: dbTlsSchema.optional(),
  from: z.string().regex(token, 'expected a source name').describe('The source whose events are applied'),
  tables: z
    .record(z.string().regex(tableName, 'expected schema.table'), sinkTableSchema)
    .default({})
    .describe('source schema.table → target; when empty, every table of the source lands under its own name'),
  twoWay: z
    .boolean()
    .default(false)
    .describe(
      "Mark the sink's writes (PostgreSQL: replication origin sluice_sink_<name>) so the source capturing the target tags them and the sink of the other direction skips them",
    ),
  conflicts: z
    .enum(['sourceWins', 'targetWins', 'newerWins'])
    .default('sourceWins')
    .describe('Two-way only: who wins when a row changed on both sides'),
  batchSize: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(500)
    .describe('Most events applied in one target transaction'),
  fetchWait: duration('500ms').describe('How long a fetch waits for events before applying what it has'),
});
export type SinkConfig = z.output<typeof sinkSchema>;

/** Cross-references: sink names unique, `from` a configured source, `resource` a configured resource. */
export function checkSinkReferences(
  cfg: {
    sinks: readonly SinkConfig[];
    sources: readonly { name: string }[];
    api?: { resources: Readonly<Record<string, unknown>> } | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const seen = new Map<string, number>();
  const sources = new Set(cfg.sources.map((s) => s.name));
  cfg.sinks.forEach((s, i) => {
    const first = seen.get(s.name);
    if (first !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['sinks', i, 'name'],
        message: `duplicate sink name "${s.name}" (also sinks[${first}])`,
      });
    else seen.set(s.name, i);
    if (!sources.has(s.from))
      ctx.addIssue({
        code: 'custom',
        path: ['sinks', i, 'from'],
        message: `no source named "${s.from}"`,
      });
    for (const [src, t] of Object.entries(s.tables))
      if ('resource' in t && !(cfg.api && Object.hasOwn(cfg.api.resources, t.resource)))
        ctx.addIssue({
          code: 'custom',
          path: ['sinks', i, 'tables', src, 'resource'],
          message: `no api resource named "${t.resource}"`,
        });
  });
}
