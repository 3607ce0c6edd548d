// `outbox:` of a source: tables whose inserted rows are the application's own events (the
// transactional outbox), published as such instead of as row changes (Debezium's EventRouter).
import { z } from 'zod';

const column = (name: string, what: string) =>
  z.string().min(1).default(name).describe(`Column holding ${what} (default ${name})`);

export const outboxSchema = z
  .strictObject({
    table: z
      .string()
      .regex(/^[^.\s*]+\.[^.\s*]+$/, 'expected schema.table (no globs)')
      .describe("The outbox table (also listed in, or matched by, the source's tables)"),
    aggregateType: column('aggregatetype', "the aggregate type, the subject's <aggregate> token"),
    aggregateId: column('aggregateid', "the aggregate id, the event's Sluice-Key (per-aggregate order)"),
    eventType: column('type', "the event type, the subject's <type> token"),
    payload: column('payload', 'the event body (json/jsonb published as JSON, text as is)'),
    id: z
      .string()
      .min(1)
      .nullable()
      .default('id')
      .describe(
        "Column holding a unique event id, the Nats-Msg-Id (exactly once across re-reads); null: the row change's own id",
      ),
  })
  .describe('A transactional outbox table (Debezium EventRouter semantics)');

export type OutboxConfig = z.infer<typeof outboxSchema>;

/** True when `table` is listed in `tables`, literally or by a `schema.*` glob. */
export function tableListed(tables: readonly string[], table: string): boolean {
  const schema = table.slice(0, table.indexOf('.'));
  return tables.some((t) => t === table || t === `${schema}.*` || t === '*.*');
}
