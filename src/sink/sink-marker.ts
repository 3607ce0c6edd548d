// Marker rows for two-way sync on targets without replication origins (SqlDialect.sinkMarks
// 'marker'): the first write of every sink transaction changes this sink's row of
// sluice_sink_marker, so the source capturing the target reads the marker before the rows it
// covers (src/core/sink-marker.ts). The value written is the batch's stream sequence: it always
// changes, since MySQL logs no row event for an update that changes nothing.
import type { Knex } from 'knex';
import { SINK_MARKER_TABLE } from '../core/sink-marker.js';
import type { SqlDialect } from '../sql/sql-dialect.js';

export async function ensureMarkerTable(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(SINK_MARKER_TABLE)) return;
  try {
    await knex.schema.createTable(SINK_MARKER_TABLE, (t) => {
      t.string('sink', 200).primary();
      t.bigInteger('stream_seq').notNullable();
    });
  } catch (err) {
    if (!(await knex.schema.hasTable(SINK_MARKER_TABLE))) throw err; // another sink created it first
  }
}

/** Marks the transaction `trx` as this sink's: call it before any other write in it. */
export async function writeMarker(
  trx: Knex.Transaction,
  dialect: SqlDialect,
  sink: string,
  seq: number,
): Promise<void> {
  await dialect.upsert(trx, SINK_MARKER_TABLE, [{ sink, stream_seq: seq }], ['sink']);
}
