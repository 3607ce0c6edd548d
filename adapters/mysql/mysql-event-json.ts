// Writes a binlog row's event JSON straight from zongji's row, with no decoded row, key, source or
// event object in between: byte for byte what JSON.stringify makes of the event makeChange builds
// from decodeRow's rows (test/unit/mysql-event-json.test.ts compares the two).
import type { Op } from '../../src/core/change-event.js';
import { EncodedChange, namesKeepOrder } from '../../src/core/encoded-change.js';
import { decodeValue, isZeroDate, type ColumnDecoder, type ValueKind } from './mysql-types.js';

/** What every event of one table shares, written once per table map. */
export interface TableJson {
  readonly schema: string;
  readonly table: string;
  readonly decoders: readonly ColumnDecoder[];
  /** `"column":` per column. */
  readonly names: readonly string[];
  /** `,"source":{"version":…,"connector":"mysql","name":…,"ts_ms":` */
  readonly sourceHead: string;
  /** `,"snapshot":"false","db":…,"schema":…,"table":…,"file":` */
  readonly sourceMid: string;
}

export function tableJson(
  origin: { version: string; source: string; db: string },
  schema: string,
  table: string,
  decoders: readonly ColumnDecoder[],
): TableJson | null {
  if (!namesKeepOrder(decoders.map((d) => d.name))) return null;
  const q = JSON.stringify;
  return {
    schema,
    table,
    decoders,
    names: decoders.map((d) => `${q(d.name)}:`),
    sourceHead: `,"source":{"version":${q(origin.version)},"connector":"mysql","name":${q(origin.source)},"ts_ms":`,
    sourceMid: `,"snapshot":"false","db":${q(origin.db)},"schema":${q(schema)},"table":${q(table)},"file":`,
  };
}

/** One value's JSON: JSON.stringify of what decodeRow makes of it (zero dates as null). */
function valueJson(kind: ValueKind, v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (kind === 'plain') {
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  } else if (kind !== 'json' && typeof v === 'string' && isZeroDate(kind, v)) return 'null';
  return JSON.stringify(decodeValue(kind, v));
}

/** `{"column":value,...}` of a zongji row; columns holding a zero date are pushed to `zero`. */
export function rowJson(t: TableJson, raw: Readonly<Record<string, unknown>>, zero: string[] | null): string {
  let out = '{';
  const d = t.decoders;
  for (let i = 0; i < d.length; i++) {
    const c = d[i]!;
    const v = raw[c.name];
    if (zero && typeof v === 'string' && isZeroDate(c.kind, v) && !zero.includes(c.name)) zero.push(c.name);
    if (i > 0) out += ',';
    out += t.names[i]!;
    out += valueJson(c.kind, v);
  }
  return `${out}}`;
}

/** The key object's JSON: the columns at `keyIdx` (-1: not in the table map, left out). */
export function keyJson(
  t: TableJson,
  raw: Readonly<Record<string, unknown>>,
  keyIdx: readonly number[],
): string {
  let out = '{';
  for (const i of keyIdx) {
    if (i < 0) continue;
    const c = t.decoders[i]!;
    if (out.length > 1) out += ',';
    out += t.names[i]!;
    out += valueJson(c.kind, raw[c.name]);
  }
  return `${out}}`;
}

/** What a transaction adds to the source block: `"file":…,"pos":…,"row":` and after the row number. */
export interface TxnJson {
  /** `"<file>","pos":<pos>,"row":` */
  readonly at: string;
  /** `,"gtid":…,"server_id":…,"thread":…` */
  readonly tail: string;
  /** The transaction id as a JSON string. */
  readonly id: string;
}

export function txnJson(t: {
  id: string;
  gtid: string | null;
  start: { file: string; pos: number };
  serverId: number;
  thread: number | null;
}): TxnJson {
  const q = JSON.stringify;
  return {
    at: `${q(t.start.file)},"pos":${t.start.pos},"row":`,
    tail: `,"gtid":${q(t.gtid)},"server_id":${t.serverId},"thread":${q(t.thread)}`,
    id: q(t.id),
  };
}

export interface BinlogRow {
  readonly op: Op;
  readonly before: string;
  readonly after: string;
  readonly keyJson: string;
  readonly row: number;
  readonly tsMs: number;
  readonly zero: readonly string[];
  readonly totalOrder: number;
  readonly tableOrder: number;
  readonly position: string;
  readonly index: number;
}

/** The event, in makeChange's key order: before, after, source, op, ts_ms, transaction. */
export function encodeBinlogRow(t: TableJson, x: TxnJson, r: BinlogRow): EncodedChange {
  const zero = r.zero.length > 0 ? `,"zero_dates":${JSON.stringify(r.zero)}` : '';
  const json =
    `{"before":${r.before},"after":${r.after}${t.sourceHead}${r.tsMs}${t.sourceMid}${x.at}${r.row}${x.tail}${zero}},` +
    `"op":"${r.op}","ts_ms":${Date.now()},` +
    `"transaction":{"id":${x.id},"total_order":${r.totalOrder},"data_collection_order":${r.tableOrder}}}`;
  return new EncodedChange(
    json,
    r.keyJson,
    t.schema,
    t.table,
    r.op,
    r.tsMs,
    'false',
    undefined,
    r.position,
    r.index,
  );
}
