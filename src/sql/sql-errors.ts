// Classifies errors of the knex drivers (pg, mysql2, better-sqlite3, mssql, oracledb) into BridgeErrors:
// each SQL-reading adapter passes its own error class.
import { BridgeError, SourceUnavailableError } from '../core/errors.js';
import { errorProps } from './sql-dialect.js';

/** Makes an adapter's own error for a non-network failure. */
export type SqlErrorFactory = (
  message: string,
  options: { cause: unknown; retriable?: boolean },
) => BridgeError;

const NETWORK =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|PROTOCOL_CONNECTION_LOST|ESOCKET|ETIMEOUT|SQLITE_BUSY|SQLITE_LOCKED)$/;
const TRANSIENT =
  /connection terminated|terminating connection|server closed the connection|the database system is (starting up|shutting down)|Knex: Timeout acquiring a connection|database is locked|Connection lost|ORA-(03113|03114|12541|12514|12170)|Failed to connect/i;

/** Network, restart, lock and pool errors are retriable (the coordinator resumes from the committed offset). */
export function classifySqlError(err: unknown, context: string, make: SqlErrorFactory): BridgeError {
  if (err instanceof BridgeError) return err;
  const p = errorProps(err);
  const msg = `${context}: ${p.message}`;
  const sqlState = p.code;
  if ((p.code && NETWORK.test(p.code)) || TRANSIENT.test(p.message))
    return new SourceUnavailableError(msg, { cause: err });
  if (sqlState && /^(08|57P0)/.test(sqlState)) return new SourceUnavailableError(msg, { cause: err });
  // MySQL 1205 lock wait timeout / 1213 deadlock, SQL Server 1205 deadlock victim, PG 40001/40P01.
  if (
    p.errno === 1205 ||
    p.errno === 1213 ||
    p.number === 1205 ||
    sqlState === '40001' ||
    sqlState === '40P01'
  )
    return make(msg, { cause: err, retriable: true });
  return make(msg, { cause: err });
}
