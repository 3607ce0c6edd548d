// The pieces of issue 17 that need no server: `${file:}` secrets and their redaction, the NATS
// connect plan, each driver's TLS options, HSTS, and the HTTPS certificate reloader.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSchema } from '../../src/config/api.js';
import { interpolate, type InterpolationProblem } from '../../src/config/env.js';
import { parseConfig } from '../../src/config/load.js';
import { SecretRegistry, secrets } from '../../src/config/secrets.js';
import { AuthenticationError, NatsUnavailableError, TlsCertificateError } from '../../src/core/errors.js';
import { createApp } from '../../src/http/app.js';
import { createAuthenticator } from '../../src/http/auth.js';
import { httpsServerOptions, TlsReloader } from '../../src/http/tls-reloader.js';
import { natsConnectPlan } from '../../src/nats/connect-options.js';
import { classifyNatsConnectError } from '../../src/nats/connection.js';
import { errors } from '@nats-io/transport-node';
import { mssqlDialect } from '../../src/sql/mssql/mssql-dialect.js';
import { mysqlDialect } from '../../src/sql/mysql/mysql-dialect.js';
import { oracleDialect } from '../../src/sql/oracle/oracle-dialect.js';
import { postgresDialect } from '../../src/sql/postgres/postgres-dialect.js';
import { classifySqlError } from '../../src/sql/sql-errors.js';
import { BridgeError } from '../../src/core/errors.js';
import type { DbTls } from '../../src/sql/sql-tls.js';
import { TestCa } from '../support/test-certs.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfakefakefakefake\n-----END CERTIFICATE-----\n';
const SEED = 'SUAGMJH5XLGZKQQWAWKRZJIGMOU4HPFUYLXJMXOO5NLFEO2OOQJ5LPRDPM';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-tls-unit-'));
});
afterAll(async () => {
  secrets.clear();
  await rm(dir, { recursive: true, force: true });
});

describe('${file:} secrets', () => {
  it('reads a file (one trailing newline dropped), registers it, and reports a missing file by path', async () => {
    const file = join(dir, 'db-password');
    await writeFile(file, 'hunter2-from-file\n');
    const reg = new SecretRegistry();
    const problems: InterpolationProblem[] = [];
    const out = interpolate(
      { url: `postgres://app:\${file:${file}}@db/x`, other: `\${file:${join(dir, 'absent')}}` },
      {},
      problems,
      [],
      reg,
    );
    expect(out).toEqual({ url: 'postgres://app:hunter2-from-file@db/x', other: '' });
    expect(problems).toEqual([
      { path: ['other'], message: `secret file ${join(dir, 'absent')} cannot be read (ENOENT)` },
    ]);
    expect(reg.redact('connect postgres://app:hunter2-from-file@db failed')).toBe(
      'connect postgres://app:[redacted]@db failed',
    );
  });

  it('treats secret-named variables as secrets, others not', () => {
    const reg = new SecretRegistry();
    interpolate(
      '${DB_PASSWORD} ${DB_HOST}',
      { DB_PASSWORD: 'pw-from-env', DB_HOST: 'db.internal' },
      [],
      [],
      reg,
    );
    expect(reg.redact('pw-from-env at db.internal')).toBe('[redacted] at db.internal');
  });

  it('redacts every line of a multi-line secret and leaves short values alone', () => {
    const reg = new SecretRegistry();
    reg.add(`-----BEGIN PRIVATE KEY-----\nAAAAlineone\nBBBBlinetwo\n-----END PRIVATE KEY-----`);
    reg.add('no');
    expect(reg.redact('x AAAAlineone y BBBBlinetwo z no')).toBe('x [redacted] y [redacted] z no');
    expect(reg.redactValue({ a: ['AAAAlineone'], n: 1 })).toEqual({ a: ['[redacted]'], n: 1 });
  });

  it('parseConfig registers URL passwords and NATS credentials', () => {
    parseConfig({
      nats: { user: 'sluice', pass: 'nats-pass-123' },
      sources: [{ name: 'a', kind: 'postgres', url: 'postgres://u:p%40ss-word@h/db', tables: ['public.t'] }],
    });
    expect(secrets.redact('nats-pass-123 p%40ss-word p@ss-word')).toBe('[redacted] [redacted] [redacted]');
    // A development URL whose password is its user name hides nothing: the names stay readable.
    const reg = new SecretRegistry();
    reg.addUrlPassword('postgres://postgres:postgres@127.0.0.1:5432/postgres');
    expect(reg.redact('kind postgres')).toBe('kind postgres');
  });
});

describe('nats connect plan', () => {
  it('creds, nkey (file or value), user/password, token: one method each', async () => {
    const seedFile = join(dir, 'user.nk');
    await writeFile(seedFile, `${SEED}\n`);
    const creds = join(dir, 'user.creds');
    await writeFile(
      creds,
      `-----BEGIN NATS USER JWT-----\neyJhbGc.fake.jwt\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${SEED}\n------END USER NKEY SEED------\n`,
    );
    const servers = ['nats://127.0.0.1:4222'];
    expect(natsConnectPlan({ servers, creds }).auth).toBe('creds');
    expect(natsConnectPlan({ servers, creds }).options.authenticator).toBeTypeOf('function');
    expect(natsConnectPlan({ servers, nkey: seedFile }).auth).toBe('nkey');
    expect(natsConnectPlan({ servers, nkey: SEED }).auth).toBe('nkey');
    expect(natsConnectPlan({ servers, user: 'u', pass: 'p' }).options).toMatchObject({
      user: 'u',
      pass: 'p',
    });
    expect(natsConnectPlan({ servers, token: 't0ken' }).auth).toBe('token');
    expect(natsConnectPlan({ servers }).auth).toBe('none');
    expect(secrets.redact(SEED)).toBe('[redacted]');
    expect(() => natsConnectPlan({ servers, nkey: join(dir, 'absent.nk') })).toThrow(
      /nats.nkey: cannot read/,
    );
  });

  it('maps nats.tls to the transport (files, handshake first) and says TLS is on', () => {
    const plan = natsConnectPlan({
      servers: ['nats://h:4222'],
      tls: { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem', handshakeFirst: true },
    });
    expect(plan.options.tls).toEqual({
      caFile: '/ca.pem',
      certFile: '/c.pem',
      keyFile: '/k.pem',
      handshakeFirst: true,
    });
    expect(plan.tls).toBe(true);
    expect(natsConnectPlan({ servers: ['tls://h:4222'] }).tls).toBe(true);
    expect(natsConnectPlan({ servers: ['nats://h:4222'] }).tls).toBe(false);
  });

  it('refuses two authentication methods and half a user/password', () => {
    expect(() => parseConfig({ nats: { token: 't', nkey: SEED } })).toThrow(
      /choose one authentication method, not nkey and token/,
    );
    expect(() => parseConfig({ nats: { user: 'u' } })).toThrow(/set user and pass together/);
    expect(() => parseConfig({ nats: { tls: { cert: '/c.pem' } } })).toThrow(/set cert and key together/);
  });

  it('classifies certificate and authorization failures as final, the rest as retriable', () => {
    const cert = classifyNatsConnectError(
      Object.assign(new Error('certificate has expired'), { code: 'CERT_HAS_EXPIRED' }),
      'nats',
    );
    expect(cert).toBeInstanceOf(TlsCertificateError);
    expect(cert.retriable).toBe(false);
    const auth = classifyNatsConnectError(new errors.AuthorizationError('Authorization Violation'), 'nats');
    expect(auth).toBeInstanceOf(AuthenticationError);
    expect(auth.retriable).toBe(false);
    const refused = classifyNatsConnectError(
      Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }),
      'nats',
    );
    expect(refused).toBeInstanceOf(NatsUnavailableError);
    expect(refused.retriable).toBe(true);
  });
});

describe('database tls per driver', () => {
  const full: DbTls = { mode: 'verify-full', ca: PEM };

  it('pg: verify-full keeps the host name check; verify-ca drops it; require checks nothing; disable is plain', async () => {
    const conn = async (tls: DbTls) =>
      ((await postgresDialect.knexConfig('postgres://u@h/db', tls)).connection as { ssl: unknown }).ssl;
    expect(await conn(full)).toEqual({ rejectUnauthorized: true, ca: PEM });
    const ca = (await conn({ mode: 'verify-ca', ca: PEM })) as { checkServerIdentity: () => unknown };
    expect(ca.checkServerIdentity()).toBeUndefined();
    expect(await conn({ mode: 'require' })).toEqual({ rejectUnauthorized: false });
    expect(await conn({ mode: 'disable' })).toBe(false);
    const none = (await postgresDialect.knexConfig('postgres://u@h/db?sslmode=require')).connection;
    expect(none).not.toHaveProperty('ssl'); // without tls the URL decides
  });

  it('mysql2 (and zongji, which shares the options): verifyIdentity only with verify-full', async () => {
    const ssl = async (tls: DbTls) =>
      ((await mysqlDialect.sourceKnexConfig('mysql://u@h/db', tls)).connection as { ssl?: unknown }).ssl;
    expect(await ssl(full)).toEqual({ rejectUnauthorized: true, verifyIdentity: true, ca: PEM });
    expect(await ssl({ mode: 'verify-ca' })).toEqual({ rejectUnauthorized: true, verifyIdentity: false });
    expect(await ssl({ mode: 'disable' })).toBeUndefined();
  });

  it('mssql: encrypt and trustServerCertificate; oracle: tcps with DN match and a wallet', async () => {
    const opts = async (tls?: DbTls) =>
      ((await mssqlDialect.knexConfig('mssql://u:p@h/db', tls)).connection as { options: unknown }).options;
    expect(await opts(full)).toMatchObject({
      encrypt: true,
      trustServerCertificate: false,
      cryptoCredentialsDetails: { ca: PEM },
    });
    expect(await opts({ mode: 'require' })).toMatchObject({ encrypt: true, trustServerCertificate: true });
    expect(await opts()).toMatchObject({ encrypt: false, trustServerCertificate: true });
    const ora = (
      await oracleDialect.knexConfig('oracle://u:p@h/FREEPDB1', { mode: 'verify-full', wallet: '/w' })
    ).connection as Record<string, unknown>;
    expect(ora).toMatchObject({
      connectString: 'tcps://h:2484/FREEPDB1',
      sslServerDNMatch: true,
      walletLocation: '/w',
    });
  });

  it('a certificate failure of any driver is a non-retriable TlsCertificateError with a hint', () => {
    for (const code of [
      'CERT_HAS_EXPIRED',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'HANDSHAKE_SSL_ERROR',
    ]) {
      const err = classifySqlError(
        Object.assign(new Error('x'), { code }),
        'source a',
        (m, o) => new BridgeError(m, o),
      );
      expect(err).toBeInstanceOf(TlsCertificateError);
      expect(err.retriable).toBe(false);
      expect(err.message).toContain(code);
    }
  });

  it('tls in a source or a sink is validated', () => {
    expect(() =>
      parseConfig({
        sources: [
          {
            name: 'a',
            kind: 'postgres',
            url: 'postgres://h/db',
            tables: ['public.t'],
            tls: { mode: 'strict' },
          },
        ],
      }),
    ).toThrow(/sources\[0\]\.tls\.mode/);
    const cfg = parseConfig({
      sources: [{ name: 'a', kind: 'postgres', url: 'postgres://h/db', tables: ['public.t'], tls: {} }],
    });
    expect(cfg.sources[0]!.tls).toEqual({ mode: 'verify-full' });
  });
});

describe('HTTPS', () => {
  it('sends HSTS only when api.tls is set', async () => {
    const app = async (tls: unknown) => {
      const api = apiSchema.parse({ ...(tls ? { tls } : {}) });
      return createApp({
        api,
        resources: new Map(),
        databases: [],
        authenticate: await createAuthenticator(api.auth),
      });
    };
    const on = await (await app({ cert: '/c', key: '/k' })).request('/healthz');
    expect(on.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    const off = await (await app(null)).request('/healthz');
    expect(off.headers.get('strict-transport-security')).toBeNull();
  });

  it('reloads the certificate on SIGHUP and keeps the old one when the new files do not load', async () => {
    const cert = join(dir, 'api.crt');
    const key = join(dir, 'api.key');
    await writeFile(cert, PEM);
    await writeFile(key, 'KEY-ONE');
    const contexts: unknown[] = [];
    const warnings: string[] = [];
    const server = { setSecureContext: (o: unknown) => contexts.push(o) };
    const reloader = new TlsReloader(
      server,
      { cert, key, hstsMaxAge: 0 },
      { warn: (_o, m) => warnings.push(m) },
      50,
    );
    try {
      await writeFile(key, 'KEY-TWO');
      process.emit('SIGHUP');
      expect(contexts.at(-1)).toEqual({ cert: PEM, key: 'KEY-TWO' });
      await rm(key);
      expect(reloader.reload('test')).toBe(false);
      expect(warnings.at(-1)).toMatch(/keeping the current one/);
      await writeFile(key, 'KEY-THREE');
      await expect.poll(() => contexts.at(-1), { timeout: 10_000 }).toEqual({ cert: PEM, key: 'KEY-THREE' });
    } finally {
      reloader.close();
    }
  });
});

describe('api.tls client certificates', () => {
  it('with a CA, a client without a certificate from it is refused; one with is served', async () => {
    const ca = await TestCa.create();
    try {
      const server = await ca.issue('api');
      const client = await ca.issue('client', { client: true });
      const https = createServer(
        httpsServerOptions({ cert: server.cert, key: server.key, ca: ca.caFile, hstsMaxAge: 0 }),
        (_req, res) => res.end('ok'),
      );
      await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
      const port = (https.address() as { port: number }).port;
      const get = (cert?: { cert: string; key: string }) =>
        new Promise<string>((resolve, reject) => {
          const req = request(`https://127.0.0.1:${port}/`, { ca: ca.caPem, ...(cert ?? {}) }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          });
          req.on('error', reject);
          req.end();
        });
      try {
        await expect(get()).rejects.toThrow();
        expect(await get({ cert: client.certPem, key: client.keyPem })).toBe('ok');
      } finally {
        https.closeAllConnections();
        await new Promise((r) => https.close(r));
      }
    } finally {
      await ca.remove();
    }
  }, 60_000);
});
