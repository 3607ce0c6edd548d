// Classifies node-postgres errors by SQLSTATE and socket error code into BridgeErrors.
import { BridgeError, OffsetLostError, SourceUnavailableError } from '../../src/core/errors.js';
import { certificateError } from '../../src/sql/sql-tls.js';

export class SlotBusyError extends BridgeError {
  override readonly code = 'PG_SLOT_BUSY';
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retriable: true });
  }
}

export class PostgresError extends BridgeError {
  override readonly code: string = 'PG_ERROR';
  constructor(
    message: string,
    readonly sqlState: string | undefined,
    options: { cause?: unknown; retriable?: boolean } = {},
  ) {
    super(message, options);
  }
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function classifyPgError(err: unknown, context: string): BridgeError {
  if (err instanceof BridgeError) return err;
  const cert = certificateError(err, context);
  if (cert) return cert;
  const e = err as { code?: string; message?: string };
  const msg = `${context}: ${e?.message ?? String(err)}`;
  const code = e?.code;
  if (code && NETWORK_CODES.has(code)) return new SourceUnavailableError(msg, { cause: err });
  if (
    /connection terminated|terminating connection|the database system is (starting up|shutting down)|Connection refused|server closed the connection/i.test(
      e?.message ?? '',
    )
  )
    return new SourceUnavailableError(msg, { cause: err });
  if (code === '55006' || /replication slot .* is active for PID/i.test(e?.message ?? ''))
    return new SlotBusyError(msg, { cause: err });
  if (code === '58P01' || /requested WAL segment .* has already been removed/i.test(e?.message ?? ''))
    return new OffsetLostError(`${msg} (the WAL needed to resume is gone; re-snapshot the source)`, {
      cause: err,
    });
  if (code?.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03' || code === '53300')
    return new SourceUnavailableError(msg, { cause: err });
  if (code === '40001' || code === '40P01')
    return new PostgresError(msg, code, { cause: err, retriable: true });
  return new PostgresError(msg, code, { cause: err, retriable: false });
}
