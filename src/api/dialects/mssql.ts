// SQL Server through knex + tedious (install `tedious` to use it). Covered by compiled-SQL unit tests.
import type { Knex } from 'knex';
import { dialectBase, errorProps, urlParts, type DbErrorKind, type Dialect } from '../dialect.js';

const kinds: Record<number, DbErrorKind> = {
  2627: 'unique',
  2601: 'unique',
  547: 'foreignKey', // also raised for CHECK conflicts; both are a client's 409/422
  515: 'notNull',
  8152: 'invalidValue', // string or binary data would be truncated
  2628: 'invalidValue',
  245: 'invalidValue', // conversion failed
  8114: 'invalidValue',
  220: 'invalidValue', // arithmetic overflow
  8115: 'invalidValue',
  241: 'invalidValue', // date conversion
  1205: 'concurrency', // deadlock victim
};

export const mssqlDialect: Dialect = {
  ...dialectBase,
  name: 'mssql',
  client: 'mssql',
  classifyError(err: unknown): DbErrorKind | null {
    const { number } = errorProps(err);
    return number === undefined ? null : (kinds[number] ?? null);
  },
  async estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number> {
    const rows = await knex.raw<{ n: number | null }[]>(
      'SELECT SUM(p.row_count) AS n FROM sys.dm_db_partition_stats p WHERE p.object_id = OBJECT_ID(?) AND p.index_id IN (0, 1)',
      [schema ? `${schema}.${table}` : table],
    );
    return Number(rows[0]?.n ?? 0);
  },
  async knexConfig(url: string): Promise<Knex.Config> {
    const p = urlParts(url);
    return {
      client: 'mssql',
      connection: {
        server: p.host,
        port: p.port ?? 1433,
        ...(p.user ? { user: p.user } : {}),
        ...(p.password ? { password: p.password } : {}),
        ...(p.database ? { database: p.database } : {}),
        options: { encrypt: p.params.get('encrypt') === 'true', trustServerCertificate: true },
      },
      pool: { min: 0, max: 10 },
    };
  },
};
