// A database that cannot be reached is a 503 whatever its driver says (tedious, oracledb), not a 500.
import { describe, expect, test } from 'vitest';
import { SourceUnavailableError } from '../../../src/core/errors.js';
import { toProblem } from '../../../src/http/error-mapper.js';
import { ResourceStore } from '../../../src/resources/resource-store.js';
import { mssqlDialect } from '../../../src/sql/mssql/mssql-dialect.js';
import { oracleDialect } from '../../../src/sql/oracle/oracle-dialect.js';

const guard = (dialect: unknown, err: Error) =>
  ResourceStore.prototype.guard.call({ db: { dialect } } as unknown as ResourceStore, () =>
    Promise.reject(err),
  );

describe('unreachable SQL Server / Oracle (driver errors as recorded, no server)', () => {
  test.each([
    [
      'SQL Server, tedious ESOCKET',
      mssqlDialect,
      Object.assign(new Error('Failed to connect'), { code: 'ESOCKET' }),
    ],
    [
      'Oracle, NJS-503',
      oracleDialect,
      Object.assign(new Error('NJS-503: connection refused'), { code: 'NJS-503' }),
    ],
  ])('%s → SourceUnavailableError → 503', async (_name, dialect, err) => {
    const thrown = await guard(dialect, err).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(SourceUnavailableError);
    expect(toProblem(thrown, 'GET').status).toBe(503);
  });

  test('a refused login is not "unavailable" (retrying does not fix a password)', async () => {
    const err = Object.assign(new Error('Login failed'), { code: 'ELOGIN' });
    expect(await guard(mssqlDialect, err).catch((e: unknown) => e)).toBe(err);
  });
});
