// Oracle through knex + oracledb (install `oracledb` to use it). Covered by compiled-SQL unit tests.
import type { Knex } from 'knex';
import { dialectBase, errorProps, urlParts, type DbErrorKind, type Dialect } from '../dialect.js';

const kinds: Record<number, DbErrorKind> = {
  1: 'unique', // ORA-00001
  2291: 'foreignKey',
  2292: 'foreignKey',
  1400: 'notNull',
  1407: 'notNull',
  2290: 'check',
  12899: 'invalidValue', // value too large for column
  1722: 'invalidValue', // invalid number
  1438: 'invalidValue', // precision exceeded
  1840: 'invalidValue',
  1841: 'invalidValue',
  1861: 'invalidValue',
  60: 'concurrency', // deadlock
  8177: 'concurrency', // cannot serialize
};

export const oracleDialect: Dialect = {
  ...dialectBase,
  name: 'oracle',
  nullsSortHigh: true,
  client: 'oracledb',
  classifyError(err: unknown): DbErrorKind | null {
    const { errorNum } = errorProps(err);
    return errorNum === undefined ? null : (kinds[errorNum] ?? null);
  },
  async estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number> {
    const q = knex('ALL_TABLES').select({ n: 'NUM_ROWS' }).where('TABLE_NAME', table.toUpperCase());
    if (schema) q.andWhere('OWNER', schema.toUpperCase());
    const row = (await q.first()) as { n: number | null } | undefined;
    return row?.n === null || row?.n === undefined
      ? dialectBase.estimateCount(knex, schema, table)
      : Number(row.n);
  },
  async knexConfig(url: string): Promise<Knex.Config> {
    const p = urlParts(url);
    return {
      client: 'oracledb',
      connection: {
        ...(p.user ? { user: p.user } : {}),
        ...(p.password ? { password: p.password } : {}),
        connectString: `${p.host}:${p.port ?? 1521}/${p.database ?? 'FREEPDB1'}`,
      },
      pool: { min: 0, max: 10 },
    };
  },
};
