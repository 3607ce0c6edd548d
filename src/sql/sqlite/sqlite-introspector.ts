// SQLite pragmas → TableInfo. Types are whatever the DDL declared (CHAR(8), INTEGER, ...).
import type { Knex } from 'knex';
import { isSluiceTable, type Introspector, type TableInfo } from '../introspector.js';

interface PragmaColumn {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
}
interface PragmaForeignKey {
  id: number;
  seq: number;
  table: string;
  from: string;
  to: string | null;
}

export const sqliteIntrospector: Introspector = {
  async listTables(knex) {
    const rows = await knex('sqlite_master')
      .select<{ name: string }[]>('name')
      .where('type', 'table')
      .andWhereNot('name', 'like', 'sqlite_%')
      .orderBy('name');
    return rows.map((r) => r.name).filter((t) => !isSluiceTable(t));
  },

  async describe(knex: Knex, table: string): Promise<TableInfo> {
    const cols = await knex.raw<PragmaColumn[]>('SELECT * FROM pragma_table_info(?)', [table]);
    const fkRows = await knex.raw<PragmaForeignKey[]>('SELECT * FROM pragma_foreign_key_list(?)', [table]);
    const pk = cols.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    const fks = new Map<number, { columns: string[]; refTable: string; refColumns: string[] }>();
    for (const f of [...fkRows].sort((a, b) => a.id - b.id || a.seq - b.seq)) {
      let fk = fks.get(f.id);
      if (!fk) fks.set(f.id, (fk = { columns: [], refTable: f.table, refColumns: [] }));
      fk.columns.push(f.from);
      fk.refColumns.push(f.to ?? f.from);
    }
    return {
      name: table,
      columns: cols.map((c) => {
        const m = /^\s*([a-z ]+?)\s*(?:\((\d+)(?:\s*,\s*(\d+))?\))?\s*$/i.exec(c.type);
        const type = (m?.[1] ?? c.type).toLowerCase();
        return {
          name: c.name,
          type,
          nullable: c.notnull === 0 && c.pk === 0,
          length: /char|text|clob/.test(type) && m?.[2] ? Number(m[2]) : undefined,
          scale: m?.[3] ? Number(m[3]) : undefined,
          precision: /decimal|numeric/.test(type) && m?.[2] ? Number(m[2]) : undefined,
          hasDefault: c.dflt_value !== null,
          // INTEGER PRIMARY KEY is the rowid: SQLite fills it.
          generated: pk.length === 1 && c.pk === 1 && type === 'integer',
        };
      }),
      primaryKey: pk.map((c) => c.name),
      foreignKeys: [...fks.values()],
    };
  },
};
