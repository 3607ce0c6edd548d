// MySQL / MariaDB information_schema → TableInfo (tables of the URL's database, or `db.table`).
import type { Knex } from 'knex';
import { isSluiceTable, type Introspector, type TableInfo } from '../introspector.js';

export const mysqlIntrospector: Introspector = {
  async listTables(knex) {
    const rows = await knex('information_schema.tables')
      .select<{ t: string }[]>({ t: 'TABLE_NAME' })
      .where('TABLE_SCHEMA', knex.raw('DATABASE()'))
      .andWhere('TABLE_TYPE', 'BASE TABLE')
      .orderBy('TABLE_NAME');
    return rows.map((r) => r.t).filter((t) => !isSluiceTable(t));
  },

  async describe(knex: Knex, qualified: string): Promise<TableInfo> {
    // `db.table` names a table in any database the connection reaches; a bare name the URL's.
    const dot = qualified.indexOf('.');
    const table = dot > 0 ? qualified.slice(dot + 1) : qualified;
    const here = {
      TABLE_SCHEMA: dot > 0 ? qualified.slice(0, dot) : knex.raw('DATABASE()'),
      TABLE_NAME: table,
    };
    const cols = await knex('information_schema.columns')
      .select<
        {
          name: string;
          type: string;
          ctype: string;
          nullable: string;
          len: number | string | null;
          scale: number | string | null;
          precision: number | string | null;
          def: string | null;
          extra: string;
        }[]
      >({
        name: 'COLUMN_NAME',
        type: 'DATA_TYPE',
        ctype: 'COLUMN_TYPE',
        nullable: 'IS_NULLABLE',
        len: 'CHARACTER_MAXIMUM_LENGTH',
        scale: 'NUMERIC_SCALE',
        precision: 'NUMERIC_PRECISION',
        def: 'COLUMN_DEFAULT',
        extra: 'EXTRA',
      })
      .where(here)
      .orderBy('ORDINAL_POSITION');
    const keys = await knex('information_schema.key_column_usage')
      .select<{ name: string; col: string; refTable: string | null; refCol: string | null }[]>({
        name: 'CONSTRAINT_NAME',
        col: 'COLUMN_NAME',
        refTable: 'REFERENCED_TABLE_NAME',
        refCol: 'REFERENCED_COLUMN_NAME',
      })
      .where(here)
      .orderBy(['CONSTRAINT_NAME', 'ORDINAL_POSITION']);
    const fks = new Map<string, { columns: string[]; refTable: string; refColumns: string[] }>();
    for (const k of keys) {
      if (!k.refTable || !k.refCol) continue;
      let fk = fks.get(k.name);
      if (!fk) fks.set(k.name, (fk = { columns: [], refTable: k.refTable, refColumns: [] }));
      fk.columns.push(k.col);
      fk.refColumns.push(k.refCol);
    }
    return {
      name: table,
      columns: cols.map((c) => ({
        name: c.name,
        // tinyint(1) is MySQL's boolean.
        type: c.ctype.toLowerCase() === 'tinyint(1)' ? 'boolean' : c.type.toLowerCase(),
        nullable: c.nullable === 'YES',
        length: c.len === null ? undefined : Number(c.len),
        scale: c.scale === null ? undefined : Number(c.scale),
        precision: c.precision === null || c.type.toLowerCase() !== 'decimal' ? undefined : Number(c.precision),
        // MariaDB spells "no default" of a nullable column as the text NULL.
        hasDefault: c.def !== null && c.def !== 'NULL',
        generated: /auto_increment/i.test(c.extra),
      })),
      primaryKey: keys.filter((k) => k.name === 'PRIMARY').map((k) => k.col),
      foreignKeys: [...fks.values()],
    };
  },
};
