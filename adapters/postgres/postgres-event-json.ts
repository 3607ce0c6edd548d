// Writes a streamed change's event JSON straight from the pgoutput tuple's text values, with no
// row, key, source or event object in between: byte for byte what JSON.stringify makes of the
// event makeChange builds (test/unit/postgres-event-json.test.ts compares the two).
import { EncodedChange, namesKeepOrder } from '../../src/core/encoded-change.js';
import type { Op } from '../../src/core/change-event.js';
import type { TupleValues } from './postgres-pgoutput.js';
import type { JsonWriter } from './postgres-types.js';

/** What every event of one relation shares, written once per Relation message. */
export interface RelationJson {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly string[];
  /** `"column":` per column, in the relation's order. */
  readonly names: readonly string[];
  readonly writers: readonly JsonWriter[];
  /** `,"source":{"version":…,"connector":"postgres","name":…,"ts_ms":` */
  readonly sourceHead: string;
  /** `,"snapshot":"false","db":…,"schema":…,"table":…,"lsn":"` */
  readonly sourceMid: string;
}

export function relationJson(
  origin: { version: string; source: string; db: string },
  schema: string,
  table: string,
  columns: readonly { name: string; json: JsonWriter }[],
): RelationJson | null {
  if (!namesKeepOrder(columns.map((c) => c.name))) return null;
  const q = JSON.stringify;
  return {
    schema,
    table,
    columns: columns.map((c) => c.name),
    names: columns.map((c) => `${q(c.name)}:`),
    writers: columns.map((c) => c.json),
    sourceHead: `,"source":{"version":${q(origin.version)},"connector":"postgres","name":${q(origin.source)},"ts_ms":`,
    sourceMid: `,"snapshot":"false","db":${q(origin.db)},"schema":${q(schema)},"table":${q(table)},"lsn":"`,
  };
}

/**
 * `{"column":value,...}` for the values present; a missing value (`undefined`) is left out, and
 * its column named in `unavailable` when one is given.
 */
export function rowJson(rel: RelationJson, values: TupleValues, unavailable: string[] | null): string {
  let out = '{';
  const names = rel.names;
  const writers = rel.writers;
  for (let i = 0; i < names.length; i++) {
    const v = values[i];
    if (v === undefined) {
      if (unavailable) unavailable.push(rel.columns[i]!);
      continue;
    }
    if (out.length > 1) out += ',';
    out += names[i]!;
    out += v === null ? 'null' : writers[i]!(v);
  }
  return `${out}}`;
}

/** The key object's JSON: the columns at `keyIdx` (-1: not in the relation, left out like undefined). */
export function keyJson(rel: RelationJson, values: TupleValues, keyIdx: readonly number[]): string {
  let out = '{';
  for (const i of keyIdx) {
    const v = i < 0 ? undefined : values[i];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += rel.names[i]!;
    out += v === null ? 'null' : rel.writers[i]!(v);
  }
  return `${out}}`;
}

/** What a streamed change adds to its relation's constants. */
export interface StreamedRow {
  readonly op: Op;
  readonly before: string;
  readonly after: string;
  readonly keyJson: string;
  readonly lsn: string;
  readonly commitMs: number;
  readonly xid: number;
  readonly xidText: string;
  readonly totalOrder: number;
  readonly tableOrder: number;
  readonly unavailable: readonly string[] | null;
  readonly position: string;
  readonly index: number;
}

/** The event, in makeChange's key order: before, after, source, op, ts_ms, transaction. */
export function encodeStreamed(rel: RelationJson, r: StreamedRow): EncodedChange {
  const unavailable =
    r.unavailable && r.unavailable.length > 0 ? `,"unavailable":${JSON.stringify(r.unavailable)}` : '';
  const json =
    `{"before":${r.before},"after":${r.after}${rel.sourceHead}${r.commitMs}${rel.sourceMid}${r.lsn}",` +
    `"txId":${r.xid}${unavailable}},"op":"${r.op}","ts_ms":${Date.now()},` +
    `"transaction":{"id":"${r.xidText}","total_order":${r.totalOrder},"data_collection_order":${r.tableOrder}}}`;
  return new EncodedChange(
    json,
    r.keyJson,
    rel.schema,
    rel.table,
    r.op,
    r.commitMs,
    'false',
    undefined,
    r.position,
    r.index,
  );
}
