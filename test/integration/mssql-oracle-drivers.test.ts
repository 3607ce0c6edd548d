// The real tedious (knex's SQL Server driver, under `mssql`) and oracledb (Thin mode) drivers, with
// no SQL Server or Oracle here: knex accepts the dialects' configs, and a connection attempt to a
// closed local port goes through the real driver and comes back classified as "unreachable".
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import knexFactory, { type Knex } from 'knex';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/sql/database.js';
import { mssqlDialect } from '../../src/sql/mssql/mssql-dialect.js';
import { oracleDialect } from '../../src/sql/oracle/oracle-dialect.js';
import { buildProgram } from '../../src/cli/main.js';
import { ConfigError, SourceUnavailableError } from '../../src/core/errors.js';

const require = createRequire(import.meta.url);

/** A local port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((done) => srv.listen(0, '127.0.0.1', done));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((done) => srv.close(() => done()));
  return port;
}

const open: Knex[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((k) => k.destroy()));
});

/** knex's client internals this test reads: the driver it loaded and tedious's config. */
interface ClientInternals {
  driverName: string;
  driver?: unknown;
  _generateConnection(): {
    server: string;
    options: Record<string, unknown>;
    authentication: { options: Record<string, unknown> };
  };
}

describe('SQL Server driver (real tedious, no server)', () => {
  it("knex's mssql client takes the dialect's config and builds tedious's from it, without connecting", async () => {
    const k = knexFactory(
      await mssqlDialect.knexConfig(
        'mssql://sa:p%40ss@db.example:1444/erp?encrypt=true&trustServerCertificate=false&instanceName=SQLEXPRESS',
      ),
    );
    open.push(k);
    const client = k.client as unknown as ClientInternals;
    expect(client.driverName).toBe('mssql');
    expect(client.driver).toBe(require('tedious'));
    const cfg = client._generateConnection();
    expect(cfg.server).toBe('db.example');
    expect(cfg.authentication.options).toMatchObject({ userName: 'sa', password: 'p@ss' });
    expect(cfg.options).toMatchObject({
      database: 'erp',
      encrypt: true,
      trustServerCertificate: false,
      instanceName: 'SQLEXPRESS',
    });
    // knex leaves the port to the SQL Browser when an instance name is given.
    expect(cfg.options.port).toBeUndefined();
    const plain = knexFactory(await mssqlDialect.knexConfig('mssql://sa:pw@db/erp'));
    open.push(plain);
    expect((plain.client as unknown as ClientInternals)._generateConnection().options).toMatchObject({
      port: 1433,
      encrypt: false,
      trustServerCertificate: true,
    });
  });

  it('refuses a URL flag that is not a boolean', async () => {
    await expect(mssqlDialect.knexConfig('mssql://sa@db/erp?encrypt=maybe')).rejects.toBeInstanceOf(
      ConfigError,
    );
  });

  it('a closed port fails in tedious with ESOCKET, which the dialect calls unreachable', async () => {
    const db = await openDatabase(`mssql://sa:pw@127.0.0.1:${await closedPort()}/erp`);
    try {
      const err = await db.ping().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(require('tedious').ConnectionError);
      expect(err).toMatchObject({ code: 'ESOCKET' });
      expect(db.dialect.isUnavailable(err)).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('sluice init on an unreachable SQL Server reports SOURCE_UNAVAILABLE', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const run = buildProgram().parseAsync([
        'node',
        'sluice',
        'init',
        '--url',
        `mssql://sa:pw@127.0.0.1:${await closedPort()}/erp`,
      ]);
      await expect(run).rejects.toBeInstanceOf(SourceUnavailableError);
    } finally {
      stderr.mockRestore();
    }
  });

  it('a refused login or a SQL error is not "unreachable"', () => {
    expect(mssqlDialect.isUnavailable({ code: 'ELOGIN', message: "Login failed for user 'sa'." })).toBe(
      false,
    );
    expect(mssqlDialect.isUnavailable({ code: 'EREQUEST', number: 208 })).toBe(false);
    expect(mssqlDialect.isUnavailable({ code: 'EREQUEST', number: 40613 })).toBe(true);
  });
});

describe('Oracle driver (real oracledb in Thin mode, no server)', () => {
  it("knex's oracledb client takes the dialect's config (an Easy Connect string), without connecting", async () => {
    const k = knexFactory(await oracleDialect.knexConfig('oracle://app:pw@ora.example/ERPPDB'));
    open.push(k);
    const client = k.client as unknown as ClientInternals & { connectionSettings: unknown };
    expect(client.driverName).toBe('oracledb');
    const oracledb = require('oracledb') as { thin: boolean };
    expect(client.driver).toBe(oracledb);
    // knex keeps the password as a hidden (non-enumerable) property.
    const settings = client.connectionSettings as Record<string, unknown>;
    expect(settings).toEqual({ user: 'app', connectString: 'ora.example:1521/ERPPDB' });
    expect(settings.password).toBe('pw');
    expect(oracledb.thin).toBe(true);
  });

  it('a closed port fails in oracledb Thin with NJS-503, which the dialect calls unreachable', async () => {
    const db = await openDatabase(`oracle://app:pw@127.0.0.1:${await closedPort()}/FREEPDB1`);
    try {
      const err = await db.ping().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: 'NJS-503' });
      expect(db.dialect.isUnavailable(err)).toBe(true);
      // Still Thin: no Oracle Client library was initialised on the way.
      expect((require('oracledb') as { thin: boolean }).thin).toBe(true);
    } finally {
      await db.close();
    }
  });

  it('a wrong password or a SQL error is not "unreachable"', () => {
    expect(oracleDialect.isUnavailable({ code: 'ORA-01017', errorNum: 1017 })).toBe(false);
    expect(oracleDialect.isUnavailable({ code: 'ORA-00942', errorNum: 942 })).toBe(false);
    expect(oracleDialect.isUnavailable({ code: 'ORA-03113', errorNum: 3113 })).toBe(true);
  });
});
