import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { BridgeError, SourceUnavailableError } from '../../src/core/errors.js';
import { classifySqlError } from '../../src/sql/sql-errors.js';

// knex's own class (CommonJS; not a named ESM export).
const { KnexTimeoutError } = createRequire(import.meta.url)('knex') as {
  KnexTimeoutError: new (m: string) => Error;
};

class TestError extends BridgeError {
  override readonly code = 'TEST';
}
const make = (message: string, options: { cause: unknown; retriable?: boolean }) => {
  const e = new TestError(message, { cause: options.cause });
  return Object.assign(e, { retriable: options.retriable ?? false });
};
const withProps = (message: string, props: Record<string, unknown>) =>
  Object.assign(new Error(message), props);
const classify = (err: unknown) => classifySqlError(err, 'ctx', make);

describe('SQL driver errors, classified by their codes and numbers', () => {
  it.each([
    ['a socket refusal', withProps('connect ECONNREFUSED', { code: 'ECONNREFUSED' })],
    ['the knex pool timing out', new KnexTimeoutError('Knex: Timeout acquiring a connection')],
    [
      'PostgreSQL shutting down (57P01)',
      withProps('terminating connection due to administrator command', { code: '57P01' }),
    ],
    ['PostgreSQL starting up (57P03)', withProps('the database system is starting up', { code: '57P03' })],
    ['a PostgreSQL connection exception (08006)', withProps('x', { code: '08006' })],
    ['node-postgres losing its connection (no code)', new Error('Connection terminated unexpectedly')],
    [
      'mysql2 losing its connection',
      withProps('Connection lost: The server closed the connection.', { code: 'PROTOCOL_CONNECTION_LOST' }),
    ],
    ['MySQL gone away (2006)', withProps('gone', { errno: 2006 })],
    ['MySQL shutting down (1053)', withProps('shutdown', { errno: 1053, code: 'ER_SERVER_SHUTDOWN' })],
    ['a locked SQLite file', withProps('database is locked', { code: 'SQLITE_BUSY' })],
    ['tedious socket error', withProps('Failed to connect', { code: 'ESOCKET' })],
    ['Oracle end-of-file on channel (ORA-03113)', withProps('ORA-03113', { errorNum: 3113 })],
    ['oracledb Thin refused (NJS-511)', withProps('NJS-511', { code: 'NJS-511' })],
  ])('%s → unavailable (retried from the committed offset)', (_, err) => {
    expect(classify(err)).toBeInstanceOf(SourceUnavailableError);
  });

  it.each([
    ['a PostgreSQL deadlock', withProps('deadlock detected', { code: '40P01' })],
    ['a MySQL lock wait timeout', withProps('Lock wait timeout exceeded', { errno: 1205 })],
    ['a SQL Server deadlock victim', withProps('deadlock victim', { number: 1205 })],
  ])('%s → the adapter error, retriable', (_, err) => {
    const e = classify(err);
    expect(e).toBeInstanceOf(TestError);
    expect((e as TestError & { retriable: boolean }).retriable).toBe(true);
  });

  it('does not mistake a message for a code: a permission error that mentions a lost connection is permanent', () => {
    const e = classify(withProps('permission denied: Connection lost while reading', { code: '42501' }));
    expect(e).toBeInstanceOf(TestError);
    expect((e as TestError & { retriable: boolean }).retriable).toBe(false);
    expect(e.message).toBe('ctx: permission denied: Connection lost while reading');
  });
});
