// Classifies `mssql`/tedious errors by SQL Server error number and driver code: a refused login
// (18456) is fatal, a deadlock victim (1205), lock and request timeouts and a failing-over or
// unreachable server are retriable, an LSN range outside the CDC window (313) is OFFSET_LOST.
import { BridgeError, OffsetLostError, SourceUnavailableError } from '../../src/core/errors.js';
import { errorProps } from '../../src/sql/sql-dialect.js';
import { mssqlDialect } from '../../src/sql/mssql/mssql-dialect.js';

export class MssqlError extends BridgeError {
  override readonly code: string = 'MSSQL_ERROR';
  constructor(
    message: string,
    /** SQL Server's error number, when the server sent one. */
    readonly number: number | undefined,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(message, options);
  }
}

/** The login was refused (wrong password, disabled login, no access to the database): fatal. */
export class MssqlLoginError extends MssqlError {
  override readonly code = 'MSSQL_LOGIN_FAILED';
}

/** What to do when the position is gone: the re-snapshot command. */
export function resnapshotHint(source: string): string {
  return `re-snapshot the source: stop sluice, run \`nats kv del sluice_offsets offset.${source}\` (the offset bucket of your nats.kvBucket) and start it again`;
}

/** Logins refused: 18456 login failed, 18452 untrusted domain, 4060 cannot open the database, 18486/18487/18488 locked/expired/must change. */
const LOGIN = new Set([18456, 18452, 4060, 18486, 18487, 18488]);
/** Deadlock victim, lock request timeout, snapshot update conflict, resource shortages. */
const RETRY = new Set([1205, 1222, 3960, 8645, 8651, 701, 1204, 40501, 49918, 49919, 49920]);
/** Database in recovery, being failed over, or its availability replica not readable. */
const FAILOVER = new Set([921, 922, 926, 942, 945, 952, 976, 978, 983, 35201]);

export function classifyMssqlError(err: unknown, context: string, source: string): BridgeError {
  if (err instanceof BridgeError) return err;
  const p = errorProps(err);
  const n = p.number;
  const msg = `${context}: ${p.message}`;
  if (p.code === 'ELOGIN' || (n !== undefined && LOGIN.has(n)))
    return new MssqlLoginError(msg, n, { cause: err, retriable: false });
  if (n === 313)
    return new OffsetLostError(
      `${msg} (the LSN range asked for is outside the capture instance's validity window; ${resnapshotHint(source)})`,
      { cause: err },
    );
  // ETIMEOUT: tedious's connect or request timeout; ECONNCLOSED/ESOCKET: the server went away.
  if (
    mssqlDialect.isUnavailable(err) ||
    p.code === 'ETIMEOUT' ||
    p.code === 'ECONNCLOSED' ||
    p.code === 'ENOTOPEN' ||
    (n !== undefined && FAILOVER.has(n))
  )
    return new SourceUnavailableError(msg, { cause: err });
  if (n !== undefined && RETRY.has(n)) return new MssqlError(msg, n, { cause: err, retriable: true });
  return new MssqlError(msg, n, { cause: err, retriable: false });
}
