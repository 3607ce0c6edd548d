// PostgreSQL catalog → TableInfo.
import type { Knex } from 'knex';
import { isSluiceTable, type Introspector, type TableInfo } from '../introspector.js';

function split(table: string): [string, string] {
  const dot = table.indexOf('.');
  return dot > 0 ? [table.slice(0, dot), table.slice(dot + 1)] : ['public', table];
}

export const postgresIntrospector: Introspector = {
  async listTables(knex) {
    const rows = await knex('information_schema.tables')
      .select<{ s: string; t: string }[]>({ s: 'table_schema', t: 'table_name' })
      .where('table_type', 'BASE TABLE')
      .whereNotIn('table_schema', ['pg_catalog', 'information_schema'])
      .orderBy(['table_schema', 'table_name']);
    return rows.map((r) => `${r.s}.${r.t}`).filter((t) => !isSluiceTable(t));
  },

  async describe(knex: Knex, table: string): Promise<TableInfo> {
    const [schema, name] = split(table);
    const cols = await knex('information_schema.columns')
      .select<
        {
          name: string;
          udt: string;
          nullable: string;
          len: number | null;
          scale: number | null;
          precision: number | null;
          def: string | null;
          ident: string;
        }[]
      >({
        name: 'column_name',
        udt: 'udt_name',
        nullable: 'is_nullable',
        len: 'character_maximum_length',
        scale: 'numeric_scale',
        precision: 'numeric_precision',
        def: 'column_default',
        ident: 'is_identity',
      })
      .where({ table_schema: schema, table_name: name })
      .orderBy('ordinal_position');
    const pk = await knex.raw<{ rows: { col: string }[] }>(
      `SELECT a.attname AS col FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = to_regclass(?) AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [`${schema}.${name}`],
    );
    const fks = await knex.raw<{
      rows: { ref_schema: string; ref_table: string; cols: string[]; ref_cols: string[] }[];
    }>(
      `SELECT fns.nspname AS ref_schema, fcl.relname AS ref_table,
         array(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS cols,
         array(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i) JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)::text[] AS ref_cols
       FROM pg_constraint c JOIN pg_class fcl ON fcl.oid = c.confrelid JOIN pg_namespace fns ON fns.oid = fcl.relnamespace
       WHERE c.contype = 'f' AND c.conrelid = to_regclass(?) ORDER BY c.conname`,
      [`${schema}.${name}`],
    );
    return {
      name: `${schema}.${name}`,
      columns: cols.map((c) => ({
        name: c.name,
        type: c.udt === 'bpchar' ? 'char' : c.udt,
        nullable: c.nullable === 'YES',
        length: c.len ?? undefined,
        scale: c.scale ?? undefined,
        // numeric_precision of integer and float types counts bits; only numeric's is digits.
        precision: c.udt === 'numeric' ? (c.precision ?? undefined) : undefined,
        hasDefault: c.def !== null,
        generated: c.ident === 'YES' || (c.def ?? '').startsWith('nextval('),
      })),
      primaryKey: pk.rows.map((r) => r.col),
      foreignKeys: fks.rows.map((f) => ({
        columns: f.cols,
        refTable: `${f.ref_schema}.${f.ref_table}`,
        refColumns: f.ref_cols,
      })),
    };
  },
};
