// Changelog rows → event values. The JSON columns are read as text and parsed with lossless-json
// (numbers keep their digits), then each value is converted by its column's declared type by the
// database's capture (src/sql/<db>/<db>-triggers.ts `value`), so an event carries what the other
// sources of that database emit for the same column (README "Change events").
import type { Op } from '../../src/core/change-event.js';
import { parseChangelogJson } from '../../src/sql/changelog-values.js';
import type { TriggerCapture } from '../../src/sql/trigger-ddl.js';

/** Declared type per column, per captured table (schema.table as the changelog's `tbl` names it). */
export type ColumnTypes = ReadonlyMap<string, Readonly<Record<string, string>>>;

export interface ChangelogEntry {
  readonly tbl: string;
  readonly op: Op;
  readonly key: Record<string, unknown>;
  readonly before: Record<string, unknown> | null;
  readonly after: Record<string, unknown> | null;
  readonly txid: number | undefined;
  /** The ordering value, as the cursor stores it. */
  readonly order: (string | number | null)[];
  readonly seq: string;
}

function row(
  v: unknown,
  types: Readonly<Record<string, string>> | undefined,
  capture: Pick<TriggerCapture, 'value'>,
): Record<string, unknown> | null {
  const parsed = parseChangelogJson(v);
  if (parsed === null) return null;
  const out: Record<string, unknown> = {};
  // Columns in declared order (PostgreSQL's jsonb sorts its keys), then any the types do not list.
  for (const k of Object.keys(types ?? {})) if (k in parsed) out[k] = capture.value(types?.[k], parsed[k]);
  for (const [k, x] of Object.entries(parsed)) if (!(k in out)) out[k] = capture.value(types?.[k], x);
  return out;
}

export function toEntry(
  r: Record<string, unknown>,
  order: (string | number | null)[],
  types: ColumnTypes,
  capture: Pick<TriggerCapture, 'value'>,
): ChangelogEntry {
  const op = String(r.op).trim();
  if (op !== 'c' && op !== 'u' && op !== 'd') throw new Error(`changelog row ${String(r.seq)} has op ${op}`);
  const txid = r.txid === null || r.txid === undefined ? undefined : Number(r.txid);
  const tbl = String(r.tbl);
  const t = types.get(tbl);
  return {
    tbl,
    op,
    key: row(r.row_key, t, capture) ?? {},
    before: row(r.old_row, t, capture),
    after: row(r.new_row, t, capture),
    txid: txid !== undefined && Number.isSafeInteger(txid) ? txid : undefined,
    order,
    seq: String(r.seq),
  };
}
