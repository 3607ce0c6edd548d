// The sink's position in the target database (`sluice_sink_position`), written in the same
// transaction as the rows it covers: after a crash the target itself says which events it holds.
// `events` counts every event ever accounted for, so "no gap, no duplicate" can be checked against
// the stream (the count equals the stream's events up to `stream_seq`).
import type { Knex } from 'knex';
import { BridgeError } from '../core/errors.js';

export const POSITION_TABLE = 'sluice_sink_position';

export interface SinkPosition {
  /** The JetStream sequence of the last event applied (0: none yet). */
  readonly seq: number;
  /** The source position (from its Nats-Msg-Id) of that event. */
  readonly sourcePosition: string | null;
  /** Events applied (or skipped as not mapped, or dead-lettered) so far. */
  readonly events: number;
  readonly updatedMs: number;
}

/** Another process advanced this sink's position: this one must stop and re-read it. */
export class SinkPositionConflictError extends BridgeError {
  override readonly code = 'SINK_POSITION_CONFLICT';
}

export async function ensurePositionTable(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(POSITION_TABLE)) return;
  try {
    await knex.schema.createTable(POSITION_TABLE, (t) => {
      t.string('sink', 200).primary();
      t.bigInteger('stream_seq').notNullable();
      t.string('source_position', 1000);
      t.bigInteger('events').notNullable();
      t.bigInteger('updated_ms').notNullable();
    });
  } catch (err) {
    // Two sinks sharing a target may race to create it.
    if (!(await knex.schema.hasTable(POSITION_TABLE))) throw err;
  }
}

/** This sink's position; its row is created (at 0) when missing. */
export async function loadPosition(knex: Knex, sink: string): Promise<SinkPosition> {
  const read = async () =>
    (await knex(POSITION_TABLE).where({ sink }).first()) as
      | { stream_seq: unknown; source_position: string | null; events: unknown; updated_ms: unknown }
      | undefined;
  let row = await read();
  if (!row) {
    await knex(POSITION_TABLE)
      .insert({ sink, stream_seq: 0, source_position: null, events: 0, updated_ms: Date.now() })
      .catch(async (err: unknown) => {
        if (!(await read())) throw err; // another process inserted it first: fine
      });
    row = await read();
  }
  return {
    seq: Number(row!.stream_seq),
    sourcePosition: row!.source_position,
    events: Number(row!.events),
    updatedMs: Number(row!.updated_ms),
  };
}

/**
 * Moves the position from `from` to `to` inside the batch's transaction, by compare-and-set on
 * the stream sequence: a process that was fenced out (another one applied meanwhile) fails here
 * and its whole batch rolls back.
 */
export async function advancePosition(
  trx: Knex.Transaction,
  sink: string,
  from: SinkPosition,
  to: SinkPosition,
): Promise<void> {
  const n = await trx(POSITION_TABLE).where({ sink, stream_seq: from.seq }).update({
    stream_seq: to.seq,
    source_position: to.sourcePosition,
    events: to.events,
    updated_ms: to.updatedMs,
  });
  if (n !== 1)
    throw new SinkPositionConflictError(
      `sink ${sink}: the position in ${POSITION_TABLE} is no longer ${from.seq} (another process applied events)`,
    );
}
