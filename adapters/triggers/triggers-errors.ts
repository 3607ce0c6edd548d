// The drivers are the polling adapter's (through knex), and so is their error classification.
export { classifySqlError, PollingError as TriggersError } from '../polling/polling-errors.js';
