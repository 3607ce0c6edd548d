// Changelog rows → event values. JSON columns arrive parsed (PostgreSQL jsonb) or as text (MySQL,
// MariaDB, SQLite, SQL Server, Oracle CLOB); values are what the database's JSON functions wrote.
import type { Op } from '../../src/core/change-event.js';

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

function json(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return JSON.parse(v) as Record<string, unknown>;
  if (Buffer.isBuffer(v)) return JSON.parse(v.toString('utf8')) as Record<string, unknown>;
  return v as Record<string, unknown>;
}

export function toEntry(row: Record<string, unknown>, order: (string | number | null)[]): ChangelogEntry {
  const op = String(row.op).trim();
  if (op !== 'c' && op !== 'u' && op !== 'd')
    throw new Error(`changelog row ${String(row.seq)} has op ${op}`);
  const txid = row.txid === null || row.txid === undefined ? undefined : Number(row.txid);
  return {
    tbl: String(row.tbl),
    op,
    key: json(row.row_key) ?? {},
    before: json(row.old_row),
    after: json(row.new_row),
    txid: txid !== undefined && Number.isSafeInteger(txid) ? txid : undefined,
    order,
    seq: String(row.seq),
  };
}
