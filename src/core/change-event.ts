// The wire format of a change event: Debezium JSON without the schema wrapper (README.md "Events").
import { z } from 'zod';
import { BridgeError } from './errors.js';
import { sourceInfoSchema, type Connector, type ConnectorFields, type SourceInfo } from './source-info.js';

export { sourceInfoSchema, type SourceInfo } from './source-info.js';

export const opSchema = z
  .enum(['r', 'c', 'u', 'd', 't'])
  .describe('r snapshot read, c create, u update, d delete, t truncate');
export type Op = z.infer<typeof opSchema>;

const rowSchema = z.record(z.string(), z.unknown());

/** An origin is sent as the `Sluice-Origin` header value: printable ASCII, no CR/LF. */
const ORIGIN = /^[\x21-\x7e][\x20-\x7e]*$/;

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
    /**
     * Who wrote the change, when a Sluice sink did (the sink's name); absent for the legacy
     * application's own writes. Published as the `Sluice-Origin` header too, so two-way sync can
     * drop its own echo without parsing the body.
     */
    origin: z.string().regex(ORIGIN, 'printable ASCII (it is sent as a header value)').optional(),
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
  /**
   * Set when the adapter wrote the event's JSON itself (EncodedChange): the dispatcher publishes
   * these bytes and never builds or stringifies `event`.
   */
  readonly encoded?: EncodedEvent;
}

/**
 * An event already written as JSON, with what the dispatcher needs besides the bytes. `json` must
 * be exactly `JSON.stringify(event)` and `keyJson` exactly `JSON.stringify(key)`.
 */
export interface EncodedEvent {
  readonly json: string;
  readonly keyJson: string;
  readonly schema: string;
  readonly table: string;
  readonly op: Op;
  /** `source.ts_ms`: commit (or read) time at the source. */
  readonly tsMs: number;
  readonly snapshot: SourceInfo['snapshot'];
  readonly origin: string | undefined;
}

/**
 * What every event of one source shares in its `source` block. (Not the `origin` of a change:
 * that names the sink that wrote it.)
 */
export interface ChangeOrigin<C extends Connector = Connector> {
  readonly connector: C;
  readonly source: string;
  readonly version: string;
  readonly db: string;
}

interface ChangeInputBase {
  readonly op: Op;
  readonly schema: string;
  readonly table: string;
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly key: Record<string, unknown>;
  /** Commit (or read) time at the source, ms since the epoch. */
  readonly tsMs: number;
  readonly snapshot: 'true' | 'false';
  readonly unavailable?: readonly string[] | undefined;
  readonly transaction?: ChangeEvent['transaction'] | undefined;
  /** The sink that wrote this change, when the adapter can tell (see SourceCapabilities.origins). */
  readonly origin?: string | undefined;
  readonly position: string;
  readonly index: number;
}

/**
 * What an adapter knows of one change; makeChange turns it into the wire event. The connector's
 * own `source` fields (`lsn`, `pos`, `scn`...) sit beside the common ones, typed per connector
 * (required where the connector's schema requires them), so no block object is allocated per
 * event; `undefined` ones are left out of the event.
 */
export type ChangeInput<C extends Connector = Connector> = C extends Connector
  ? ChangeInputBase & Readonly<ConnectorFields<C>>
  : never;

type Block = Record<string, unknown>;

/**
 * The one place a change event is put together, so every adapter emits the same shape. On the
 * hot path: plain assignments, no object spreads (they showed in profiles).
 */
export function makeChange<C extends Connector>(o: ChangeOrigin<C>, e: ChangeInput<C>): SourceChange {
  const source = {
    version: o.version,
    connector: o.connector,
    name: o.source,
    ts_ms: e.tsMs,
    snapshot: e.snapshot,
    db: o.db,
    schema: e.schema,
    table: e.table,
  } as SourceInfo & Block;
  // Each connector's own fields by name, in a switch: a loop over key names would make every
  // access a keyed (megamorphic) one. test/unit/change-event.test.ts checks that every field of
  // each connector's schema is copied.
  const connector: Connector = o.connector;
  switch (connector) {
    case 'postgres': {
      const f = e as ChangeInput<'postgres'>;
      if (f.lsn !== undefined) source.lsn = f.lsn;
      if (f.txId !== undefined) source.txId = f.txId;
      if (f.xmin !== undefined) source.xmin = f.xmin;
      break;
    }
    case 'mysql': {
      const f = e as ChangeInput<'mysql'>;
      source.file = f.file;
      source.pos = f.pos;
      source.row = f.row;
      if (f.gtid !== undefined) source.gtid = f.gtid;
      source.server_id = f.server_id;
      if (f.thread !== undefined) source.thread = f.thread;
      if (f.zero_dates !== undefined) source.zero_dates = f.zero_dates;
      break;
    }
    case 'sqlserver': {
      const f = e as ChangeInput<'sqlserver'>;
      if (f.change_lsn !== undefined) source.change_lsn = f.change_lsn;
      if (f.commit_lsn !== undefined) source.commit_lsn = f.commit_lsn;
      if (f.event_serial_no !== undefined) source.event_serial_no = f.event_serial_no;
      break;
    }
    case 'oracle': {
      const f = e as ChangeInput<'oracle'>;
      source.scn = f.scn;
      if (f.commit_scn !== undefined) source.commit_scn = f.commit_scn;
      if (f.txId !== undefined) source.txId = f.txId;
      if (f.rs_id !== undefined) source.rs_id = f.rs_id;
      if (f.ssn !== undefined) source.ssn = f.ssn;
      if (f.redo_thread !== undefined) source.redo_thread = f.redo_thread;
      if (f.user_name !== undefined) source.user_name = f.user_name;
      break;
    }
    case 'polling': {
      const f = e as ChangeInput<'polling'>;
      if (f.cursor !== undefined) source.cursor = f.cursor;
      break;
    }
    case 'triggers': {
      const f = e as ChangeInput<'triggers'>;
      if (f.seq !== undefined) source.seq = f.seq;
      if (f.txId !== undefined) source.txId = f.txId;
      break;
    }
    default: {
      const never: never = connector;
      throw new BridgeError(`unknown connector ${String(never)}`);
    }
  }
  if (e.unavailable !== undefined && e.unavailable.length > 0) source.unavailable = [...e.unavailable];
  const event: ChangeEvent = { before: e.before, after: e.after, source, op: e.op, ts_ms: Date.now() };
  if (e.transaction) event.transaction = e.transaction;
  if (e.origin !== undefined) {
    // Checked here, once per sink-written change, because the dispatcher puts it in a header as is.
    if (!ORIGIN.test(e.origin))
      throw new BridgeError(
        `origin ${JSON.stringify(e.origin)} is not printable ASCII (it is sent as a header)`,
      );
    event.origin = e.origin;
  }
  return { event, key: e.key, position: e.position, index: e.index };
}
