// The wire format of a change event: Debezium JSON without the schema wrapper (DESIGN.md "Change events").
import { z } from 'zod';

export const opSchema = z
  .enum(['r', 'c', 'u', 'd', 't'])
  .describe('r snapshot read, c create, u update, d delete, t truncate');
export type Op = z.infer<typeof opSchema>;

const rowSchema = z.record(z.string(), z.unknown());

export const sourceInfoSchema = z.looseObject({
  version: z.string(),
  connector: z.string(),
  name: z.string(),
  ts_ms: z.number().int(),
  snapshot: z.enum(['true', 'false', 'last', 'incremental']),
  db: z.string(),
  schema: z.string(),
  table: z.string(),
  lsn: z.string().optional(),
  txId: z.number().int().optional(),
  /** Columns the source did not send (PostgreSQL unchanged TOAST): absent from `after`, never faked. */
  unavailable: z.array(z.string()).optional(),
});
export type SourceInfo = z.infer<typeof sourceInfoSchema>;

export const transactionSchema = z.object({
  id: z.string(),
  total_order: z.number().int().positive(),
  data_collection_order: z.number().int().positive(),
});

export const changeEventSchema = z
  .object({
    before: rowSchema.nullable(),
    after: rowSchema.nullable(),
    source: sourceInfoSchema,
    op: opSchema,
    ts_ms: z.number().int(),
    transaction: transactionSchema.nullable().optional(),
  })
  .superRefine((e, ctx) => {
    const needAfter = e.op === 'r' || e.op === 'c' || e.op === 'u';
    if (needAfter && e.after === null)
      ctx.addIssue({ code: 'custom', path: ['after'], message: `op ${e.op} needs an after image` });
    if (e.op === 'd' && e.before === null)
      ctx.addIssue({
        code: 'custom',
        path: ['before'],
        message: 'op d needs a before image (at least the key)',
      });
  });

export type ChangeEvent = z.infer<typeof changeEventSchema>;

/**
 * One event as a source adapter hands it to the pipeline. `position` and `index` make the
 * deterministic `Nats-Msg-Id` (`<source>:<position>:<index>`): the same change read again after a
 * crash must get the same pair, so the stream's duplicate window absorbs it.
 */
export interface SourceChange {
  readonly event: ChangeEvent;
  readonly key: Readonly<Record<string, unknown>>;
  readonly position: string;
  readonly index: number;
}

/** Who produced a change: the same for every event of one source. */
export interface ChangeOrigin {
  readonly connector: string;
  readonly source: string;
  readonly version: string;
  readonly db: string;
}

/** What an adapter knows of one change; makeChange turns it into the wire event. */
export interface ChangeInput {
  readonly op: Op;
  readonly schema: string;
  readonly table: string;
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly key: Record<string, unknown>;
  /** Commit (or read) time at the source, ms since the epoch. */
  readonly tsMs: number;
  readonly snapshot: 'true' | 'false';
  readonly lsn?: string | undefined;
  readonly txId?: number | undefined;
  readonly unavailable?: readonly string[] | undefined;
  readonly transaction?: ChangeEvent['transaction'] | undefined;
  readonly position: string;
  readonly index: number;
}

/**
 * The one place a change event is put together, so every adapter emits the same shape. On the
 * hot path: plain assignments, no object spreads (they showed in profiles).
 */
export function makeChange(o: ChangeOrigin, e: ChangeInput): SourceChange {
  const source: SourceInfo = {
    version: o.version,
    connector: o.connector,
    name: o.source,
    ts_ms: e.tsMs,
    snapshot: e.snapshot,
    db: o.db,
    schema: e.schema,
    table: e.table,
  };
  if (e.lsn !== undefined) source.lsn = e.lsn;
  if (e.txId !== undefined) source.txId = e.txId;
  if (e.unavailable !== undefined && e.unavailable.length > 0) source.unavailable = [...e.unavailable];
  const event: ChangeEvent = { before: e.before, after: e.after, source, op: e.op, ts_ms: Date.now() };
  if (e.transaction) event.transaction = e.transaction;
  return { event, key: e.key, position: e.position, index: e.index };
}
