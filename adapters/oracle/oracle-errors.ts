// Classifies oracledb errors by their ORA-/NJS- numbers (never by message text): a refused login
// is fatal, deadlocks, timeouts and failover are retriable, missing redo is OFFSET_LOST naming the
// re-snapshot command.
import { BridgeError, OffsetLostError, SourceUnavailableError } from '../../src/core/errors.js';
import { oracleDialect } from '../../src/sql/oracle/oracle-dialect.js';
import { errorProps } from '../../src/sql/sql-dialect.js';
import { classifySqlError } from '../../src/sql/sql-errors.js';

export class OracleError extends BridgeError {
  override readonly code: string = 'ORACLE_ERROR';
}

/** ORA-01017 and friends: retrying with the same credentials cannot succeed. */
export class OracleLoginError extends BridgeError {
  override readonly code = 'ORACLE_LOGIN_FAILED';
}

/** What to do when the redo a position needs is gone: the re-snapshot command. */
export function resnapshotHint(source: string): string {
  return `re-snapshot the source: stop sluice, run \`nats kv del sluice_offsets offset.${source}\` (the offset bucket of your nats.kvBucket) and start it again`;
}

/** invalid username/password, account locked, password expired, no CREATE SESSION. */
const LOGIN = new Set([1017, 28000, 28001, 1045, 1005]);
/** deadlock, resource busy, cannot serialize, snapshot too old during a retry-safe read, user cancel by timeout. */
const RETRY = new Set([60, 54, 30006, 8177, 1013, 12170, 12535, 12609, 1291, 310]);
/** The redo or undo a position needs is gone: archived log deleted, snapshot SCN older than undo keeps. */
const LOST = new Set([1284, 308, 1555, 8180, 8181]);
// Timeouts and lost connections of oracledb Thin itself (NJS-5xx without an ORA number).
const RETRY_NJS = new Set(['NJS-040', 'NJS-123', 'NJS-510', 'NJS-500', 'NJS-501', 'NJS-503', 'NJS-521']);

function errorNum(err: unknown): number | undefined {
  const n = (err as { errorNum?: unknown } | null)?.errorNum;
  return typeof n === 'number' ? n : undefined;
}

export function classifyOracleError(err: unknown, context: string, source: string): BridgeError {
  if (err instanceof BridgeError) return err;
  const p = errorProps(err);
  const num = errorNum(err);
  const code = (err as { code?: unknown } | null)?.code;
  const msg = `${context}: ${p.message}`;
  if (num !== undefined && LOGIN.has(num)) return new OracleLoginError(msg, { cause: err });
  if (num !== undefined && LOST.has(num))
    return new OffsetLostError(`${msg} (${resnapshotHint(source)})`, { cause: err });
  if (oracleDialect.isUnavailable(err)) return new SourceUnavailableError(msg, { cause: err });
  if ((num !== undefined && RETRY.has(num)) || (typeof code === 'string' && RETRY_NJS.has(code)))
    return new OracleError(msg, { cause: err, retriable: true });
  return classifySqlError(err, context, (m, o) => new OracleError(m, o), oracleDialect);
}
