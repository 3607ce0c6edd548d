// Errors of the triggers adapter; driver errors are classified by the shared SQL rules.
import { BridgeError } from '../../src/core/errors.js';
import { classifySqlError } from '../../src/sql/sql-errors.js';

export class TriggersError extends BridgeError {
  override readonly code: string = 'TRIGGERS_ERROR';
}

/** Network, restart, lock and pool errors are retriable (the coordinator resumes from the committed offset). */
export function classifyTriggersError(err: unknown, context: string): BridgeError {
  return classifySqlError(err, context, (message, options) => new TriggersError(message, options));
}
