// The contract every source adapter implements. Core never knows which database is behind it.
import type { SourceChange } from './change-event.js';
import type { OffsetCodec } from './offset.js';

/** What a source can deliver. Defaults live in one base object, so adding a flag breaks no adapter. */
export interface SourceCapabilities {
  /** How much of the old row a `u`/`d` event carries. */
  readonly beforeImage: 'full' | 'key' | 'none';
  /** Events carry transaction metadata and a batch never splits a transaction's commit. */
  readonly transactions: boolean;
  /** `t` events are emitted. */
  readonly truncate: boolean;
  /** A column added while streaming appears without a restart. */
  readonly schemaChanges: boolean;
  /** Streams without a snapshot see deletes. */
  readonly deletes: boolean;
  /**
   * How the adapter tells a Sluice sink's own writes apart (and sets `origin` on them), so two-way
   * sync drops its echo: `none` cannot; `marker` by a marker row the sink writes in the same
   * transaction; `replication-origin` by PostgreSQL's replication origin of the writing session.
   */
  readonly origins: 'none' | 'marker' | 'replication-origin';
}

export const defaultCapabilities: SourceCapabilities = Object.freeze({
  beforeImage: 'none',
  transactions: false,
  truncate: false,
  schemaChanges: false,
  deletes: true,
  origins: 'none',
});

/**
 * A group of changes. `offset` is where a restart may resume once every change of this batch and
 * of all earlier batches is acknowledged by JetStream; `null` means "not a resumable point yet"
 * (e.g. the middle of a large transaction).
 */
export interface ChangeBatch<O> {
  readonly changes: readonly SourceChange[];
  readonly offset: O | null;
  /** The adapter needs this batch's offset committed before it goes on (e.g. a snapshot's first checkpoint). */
  readonly sync?: boolean;
}

export interface SourceContext {
  readonly signal: AbortSignal;
  readonly log: Logger;
  /**
   * The position of the last event of this source that JetStream holds, when the pipeline could
   * read it (its Nats-Msg-Id split into position and index, its Sluice-Key and the event). Adapters
   * may use it to resume an interrupted snapshot exactly after the last row published.
   */
  readonly lastPublished?: { position: string; index: number; key: unknown; event: unknown } | null;
}

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export interface PreflightReport {
  readonly ok: boolean;
  /** Each problem says what is wrong and how to fix it. */
  readonly problems: readonly string[];
  /** Things that work but deserve attention (each says what to do). */
  readonly warnings: readonly string[];
  readonly facts: Readonly<Record<string, unknown>>;
}

export interface SourceStatus {
  readonly facts: Readonly<Record<string, unknown>>;
}

export interface SourceAdapter<O> {
  readonly kind: string;
  readonly name: string;
  readonly capabilities: SourceCapabilities;
  readonly offsets: OffsetCodec<O>;

  /** Checks prerequisites and changes nothing. */
  preflight(): Promise<PreflightReport>;
  /**
   * Initial (or resumed) snapshot. `from` is a committed offset that says the snapshot was
   * interrupted, or null for a fresh start. The last batch's offset is where streaming begins.
   */
  snapshot(ctx: SourceContext, from: O | null): AsyncIterable<ChangeBatch<O>>;
  /** True when `offset` (from the store) still needs the snapshot to finish. */
  needsSnapshot(offset: O | null): boolean;
  /** Streams changes after `from`. Ends only when the signal aborts or on error. */
  stream(ctx: SourceContext, from: O | null): AsyncIterable<ChangeBatch<O>>;
  /** Tells the source that everything up to `offset` is durably published and committed. */
  acknowledge(offset: O): Promise<void>;
  /**
   * Asks the running stream for an online re-snapshot of `tables` (every captured table when
   * empty), interleaved with streaming; returns the request's id, which the offset's description
   * names while it runs. Absent where the source cannot do it.
   */
  requestSnapshot?(tables: readonly string[]): Promise<string>;
  /** Slot lag, retained log and similar facts for `sluice status`. */
  status(committed: O | null): Promise<SourceStatus>;
  /** Idempotent. */
  close(): Promise<void>;
}

export type AnySourceAdapter = SourceAdapter<unknown>;
