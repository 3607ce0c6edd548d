// Errors of the polling adapter; driver errors are classified by the shared SQL rules.
import { BridgeError } from '../../src/core/errors.js';
import { classifySqlError } from '../../src/sql/sql-errors.js';

export class PollingError extends BridgeError {
  override readonly code: string = 'POLLING_ERROR';
}

/** Network, restart, lock and pool errors are retriable (the coordinator resumes from the committed offset). */
export function classifyPollingError(err: unknown, context: string): BridgeError {
  return classifySqlError(err, context, (message, options) => new PollingError(message, options));
}
