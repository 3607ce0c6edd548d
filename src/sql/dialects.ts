// URL scheme → dialect. SqlDialect modules are small and driver-free; drivers load when knex connects.
import { BridgeError } from '../core/errors.js';
import type { SqlDialect } from './sql-dialect.js';

export class UnsupportedDatabaseError extends BridgeError {
  override readonly code = 'DATABASE_UNSUPPORTED';
}

export async function dialectForUrl(url: string): Promise<SqlDialect> {
  const scheme = /^([a-z0-9]+):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return (await import('./postgres/postgres-dialect.js')).postgresDialect;
    case 'mysql':
    case 'mariadb':
      return (await import('./mysql/mysql-dialect.js')).mysqlDialect;
    case 'sqlite':
    case 'sqlite3':
      return (await import('./sqlite/sqlite-dialect.js')).sqliteDialect;
    case 'mssql':
    case 'sqlserver':
      return (await import('./mssql/mssql-dialect.js')).mssqlDialect;
    case 'oracle':
      return (await import('./oracle/oracle-dialect.js')).oracleDialect;
    default:
      throw new UnsupportedDatabaseError(
        `unsupported database URL ${JSON.stringify(url.replace(/\/\/[^@/]*@/, '//***@'))}: expected postgres://, mysql://, mariadb://, sqlite:, mssql:// or oracle://`,
      );
  }
}
