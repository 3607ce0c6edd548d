// Reads tables' current rows decoded exactly as events are, for the fault tests.
import pg from 'pg';
import { quoteIdent, tableInfo } from '../../adapters/postgres/postgres-catalog.js';
import { RAW_TYPES } from '../../adapters/postgres/postgres-session.js';
import {
  SESSION_OPTIONS,
  TYPE_INFO_SQL,
  TypeDecoders,
  type TypeInfo,
} from '../../adapters/postgres/postgres-types.js';

export async function readTableStates(
  url: string,
  tables: readonly string[],
): Promise<Map<string, { key: string[]; rows: Record<string, unknown>[] }>> {
  const c = new pg.Client({ connectionString: url, options: SESSION_OPTIONS, types: RAW_TYPES });
  await c.connect();
  const types = new TypeDecoders();
  const out = new Map<string, { key: string[]; rows: Record<string, unknown>[] }>();
  try {
    for (const t of tables) {
      const info = await tableInfo(c, t);
      if (!info) throw new Error(`no table ${t}`);
      const res = await c.query(
        `SELECT * FROM ${info.quoted}${info.key.length ? ` ORDER BY ${info.key.map(quoteIdent).join(', ')}` : ''}`,
      );
      const unknown = types.unknown(res.fields.map((f) => f.dataTypeID));
      if (unknown.length)
        types.learn(
          (await c.query<TypeInfo>(TYPE_INFO_SQL, [unknown])).rows.map((r) => ({
            ...r,
            oid: Number(r.oid),
            elem: Number(r.elem),
            base: Number(r.base),
          })),
        );
      const rows = res.rows.map((raw: Record<string, string | null>) => {
        const row: Record<string, unknown> = {};
        for (const f of res.fields) row[f.name] = types.decode(f.dataTypeID, raw[f.name] ?? null);
        return row;
      });
      out.set(t, { key: [...info.key], rows });
    }
  } finally {
    await c.end();
  }
  return out;
}
