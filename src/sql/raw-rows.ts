// The rows of a knex.raw result, whatever the driver returned.

type Row = Record<string, unknown>;

/** Rows of a knex.raw result whatever the driver (pg: {rows}, mysql2: [rows, fields], others: rows). */
export function rawRows(res: unknown): Row[] {
  if (Array.isArray(res)) return (Array.isArray(res[0]) ? res[0] : res) as Row[];
  if (res && typeof res === 'object' && Array.isArray((res as { rows?: unknown }).rows))
    return (res as { rows: Row[] }).rows;
  return [];
}
