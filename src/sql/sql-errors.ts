// Classifies errors of the knex drivers (pg, mysql2, better-sqlite3, mssql, oracledb) into BridgeErrors:
// each SQL-reading adapter passes its own error class. What a driver's error means is the dialect's
// to say (isUnavailable, classifyError read its codes and numbers); this file only maps the answer.
import { BridgeError, SourceUnavailableError } from '../core/errors.js';
import { mssqlDialect } from './mssql/mssql-dialect.js';
import { mysqlDialect } from './mysql/mysql-dialect.js';
import { oracleDialect } from './oracle/oracle-dialect.js';
import { postgresDialect } from './postgres/postgres-dialect.js';
import type { SqlDialect } from './sql-dialect.js';
import { certificateError } from './sql-tls.js';
import { errorProps } from './sql-dialect.js';
import { sqliteDialect } from './sqlite/sqlite-dialect.js';

/** Makes an adapter's own error for a non-network failure. */
export type SqlErrorFactory = (
  message: string,
  options: { cause: unknown; retriable?: boolean },
) => BridgeError;

/**
 * Every dialect, for errors whose driver the caller does not name: the codes and numbers of one
 * driver's errors live in properties the others do not set (pg and SQLite `code` strings, mysql2
 * `errno`, tedious `number`, oracledb `errorNum`), so asking each is unambiguous.
 */
const dialects: readonly SqlDialect[] = [
  postgresDialect,
  mysqlDialect,
  sqliteDialect,
  mssqlDialect,
  oracleDialect,
];

/** Network, restart, lock and pool errors are retriable (the coordinator resumes from the committed offset). */
export function classifySqlError(
  err: unknown,
  context: string,
  make: SqlErrorFactory,
  dialect?: SqlDialect,
): BridgeError {
  if (err instanceof BridgeError) return err;
  // Before "unavailable": a rejected certificate closes the socket too, but retrying cannot help.
  const cert = certificateError(err, context);
  if (cert) return cert;
  const msg = `${context}: ${errorProps(err).message}`;
  const asked = dialect ? [dialect] : dialects;
  if (asked.some((d) => d.isUnavailable(err))) return new SourceUnavailableError(msg, { cause: err });
  // Deadlocks, serialization failures, lock waits: the same work can succeed when tried again.
  if (asked.some((d) => d.classifyError(err) === 'concurrency'))
    return make(msg, { cause: err, retriable: true });
  return make(msg, { cause: err });
}
