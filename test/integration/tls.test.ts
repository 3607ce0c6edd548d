// Every hop on TLS with real servers on loopback and a throwaway CA: nats-server with
// `tls { verify: true }` (mutual TLS) and nkey users, PostgreSQL with ssl=on and hostssl only,
// MariaDB with TLS, and `sluice run` serving the REST API over HTTPS. The change stream, REST and
// a webhook (HTTPS to a receiver that requires a client certificate, `webhooks[].tls`) work over
// them; a wrong CA, an expired certificate and a wrong nkey each fail at once
// with a clear error (connection attempts counted through a TCP proxy); secrets given as files
// appear in no log line and in no `status`/`validate` output.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { createUser } from '@nats-io/nkeys';
import { connect, nkeyAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsCertificateError } from '../../src/core/errors.js';
import { openDatabase } from '../../src/sql/database.js';
import { parseConfig } from '../../src/config/load.js';
import { startRuntime } from '../../src/pipeline/runtime.js';
import { quietLog } from '../support/harness.js';
import { classifySqlError } from '../../src/sql/sql-errors.js';
import { BridgeError } from '../../src/core/errors.js';
import { runSluice, sluice, type SluiceRun as Run } from '../support/cli.js';
import { mariadbMissing, TestMariaDB } from '../support/mariadb-server.js';
import { TestNatsServer } from '../support/nats-server.js';
import { freePort, waitFor } from '../support/ports.js';
import { TestPostgres } from '../support/postgres-server.js';
import { LEGACY_DDL, LEGACY_TABLES, legacyApi } from '../support/resource-workload.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { TestCa, type IssuedCert } from '../support/test-certs.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';

/** Runs `sluice run` expecting it to stop by itself; kills it after `ms` (a retry loop would hang). */
async function runToFailure(configFile: string, ms = 60_000): Promise<Run> {
  const r = runSluice(configFile);
  const t = setTimeout(() => r.child.kill('SIGKILL'), ms);
  const out = await r.exited;
  clearTimeout(t);
  return out;
}

function httpsGet(
  url: string,
  ca: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('every hop on TLS', () => {
  let dir: string;
  let ca: TestCa;
  let otherCa: TestCa;
  let natsCert: IssuedCert;
  let clientCert: IssuedCert;
  let apiCert: IssuedCert;
  let hookClient: IssuedCert;
  let nats: TestNatsServer;
  let pg: TestPostgres;
  let receiver: WebhookReceiver;
  const user = createUser();
  const seed = new TextDecoder().decode(user.getSeed());
  const pgPassword = `pg-${randomBytes(12).toString('hex')}`;
  const whsec = `whsec_${randomBytes(24).toString('base64')}`;
  const files = { seed: '', pgPassword: '', whsec: '', wrongSeed: '' };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'));
    [ca, otherCa] = await Promise.all([TestCa.create(), TestCa.create('Some Other CA')]);
    natsCert = await ca.issue('nats');
    clientCert = await ca.issue('sluice', { client: true });
    apiCert = await ca.issue('api');
    hookClient = await ca.issue('sluice-webhook', { client: true });
    // The webhook endpoint's own CA: a company CA the system does not know.
    const hookCa = otherCa;
    const hookCert = await hookCa.issue('hooks.example');
    const pgCert = await ca.issue('postgres');
    for (const [k, v] of [
      ['seed', seed],
      ['pgPassword', pgPassword],
      ['whsec', whsec],
      ['wrongSeed', new TextDecoder().decode(createUser().getSeed())],
    ] as const) {
      files[k] = join(dir, `${k}.secret`);
      await writeFile(files[k], `${v}\n`, { mode: 0o600 });
    }
    const conf = join(dir, 'nats.conf');
    await writeFile(
      conf,
      [
        'tls {',
        `  cert_file: "${natsCert.cert}"`,
        `  key_file: "${natsCert.key}"`,
        `  ca_file: "${ca.caFile}"`,
        '  verify: true',
        '  timeout: 5',
        '}',
        `authorization { users = [ { nkey: ${user.getPublicKey()} } ] }`,
      ].join('\n'),
    );
    [nats, pg, receiver] = await Promise.all([
      TestNatsServer.start(['-c', conf]),
      TestPostgres.start([], { ssl: { cert: pgCert.cert, key: pgCert.key, ca: ca.caFile } }),
      // HTTPS, and only for a client certificate from `ca` (mutual TLS).
      WebhookReceiver.start(whsec, undefined, {
        cert: hookCert.certPem,
        key: hookCert.keyPem,
        ca: ca.caPem,
      }),
    ]);
    await pg.query(LEGACY_DDL);
    await pg.query(`CREATE ROLE sluice_app LOGIN SUPERUSER REPLICATION PASSWORD '${pgPassword}'`);
  }, 180_000);

  afterAll(async () => {
    await receiver?.close();
    await nats?.stop();
    await pg?.stop();
    await ca?.remove();
    await otherCa?.remove();
    await rm(dir, { recursive: true, force: true });
  });

  /** The config of a fully secured run; `nats` and `source` keys override. */
  function config(
    o: { nats?: Record<string, unknown>; source?: Record<string, unknown>; apiPort?: number } = {},
  ) {
    return {
      nats: {
        servers: nats.url,
        tls: { ca: ca.caFile, cert: clientCert.cert, key: clientCert.key },
        nkey: `\${file:${files.seed}}`,
        commitInterval: '50ms',
        leaseTtl: '2s',
        ...o.nats,
      },
      sources: [
        {
          name: 'erp',
          kind: 'postgres',
          url: `postgres://sluice_app:\${file:${files.pgPassword}}@127.0.0.1:${pg.port}/postgres`,
          tables: LEGACY_TABLES,
          tls: { ca: ca.caFile },
          heartbeatInterval: '1s',
          ...o.source,
        },
      ],
      api: {
        ...legacyApi('erp'),
        listen: `127.0.0.1:${o.apiPort ?? 0}`,
        tls: { cert: apiCert.cert, key: apiCert.key },
      },
      webhooks: [
        {
          name: 'crm',
          url: receiver.url,
          secret: `\${file:${files.whsec}}`,
          resources: ['customers'],
          tls: { ca: otherCa.caFile, cert: hookClient.cert, key: hookClient.key },
        },
        // Without the endpoint's CA: every attempt meets an untrusted certificate (and is retried).
        {
          name: 'crm-noca',
          url: receiver.url,
          secret: `\${file:${files.whsec}}`,
          resources: ['customers'],
          tls: { cert: hookClient.cert, key: hookClient.key },
          retry: { initialDelay: '100ms', maxDelay: '500ms' },
        },
      ],
    };
  }

  async function writeConfig(raw: unknown): Promise<string> {
    const file = join(dir, `sluice-${randomBytes(4).toString('hex')}.yaml`);
    await writeFile(file, JSON.stringify(raw, null, 2));
    return file;
  }

  function expectNoSecret(text: string): void {
    for (const secret of [seed, pgPassword, whsec, whsec.slice(6)]) expect(text).not.toContain(secret);
    // No line of a private key either (the API's and the NATS client's).
    for (const pem of [apiCert.keyPem, clientCert.keyPem, hookClient.keyPem])
      for (const line of pem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')))
        expect(text).not.toContain(line);
  }

  it('streams changes, serves REST over HTTPS and delivers a webhook, with no secret in logs or CLI output', async () => {
    const port = await freePort();
    const file = await writeConfig(config({ apiPort: port }));
    const run = runSluice(file);
    try {
      const base = `https://127.0.0.1:${port}/api`;
      const first = await waitFor(
        async () => {
          if (run.child.exitCode !== null) throw new Error(`sluice exited: ${run.logs()}`);
          return httpsGet(`${base}/customerNames?limit=5`, ca.caPem).catch(() => null);
        },
        'the REST API over HTTPS',
        90_000,
        250,
      );
      expect(first.status).toBe(200);
      expect(first.headers['strict-transport-security']).toMatch(/^max-age=31536000/);
      expect(JSON.parse(first.body)).toHaveProperty('data');
      // Not served to a client that does not trust our CA.
      await expect(httpsGet(`${base}/customerNames`, otherCa.caPem)).rejects.toThrow(/certificate/i);

      // The source streams over TLS (hostssl refuses anything else): an UPDATE reaches the webhook.
      await waitFor(
        async () =>
          run.logs().includes('"state":"streaming"') || run.logs().includes('streaming') ? true : null,
        'the source to stream',
        90_000,
        200,
      );
      await waitFor(
        async () => {
          await pg.query(`UPDATE custmast SET cust_nm = 'OVER TLS' WHERE cust_no = 'C0001'`);
          return receiver.accepted.length > 0 ? true : null;
        },
        'a webhook delivery',
        60_000,
        2000,
      );
      expect(receiver.accepted[0]!.event).toMatchObject({ type: 'customers.updated' });
      expect(receiver.attempts.every((a) => a.signatureValid)).toBe(true);

      // The webhook without `ca`: its attempts fail on the certificate, are logged in words and
      // retried; none reaches the receiver (all the attempts above came from `crm`, once each).
      const failed = await waitFor(
        async () => {
          const r = await sluice(['deliveries', 'crm-noca', '-c', file, '--failed', '--json']);
          const rows = r.stdout
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as { eventId: string; attempt: number; error: string | null });
          return rows.some((a) => a.attempt >= 2) ? rows : null;
        },
        'failed and retried attempts of crm-noca in the delivery log',
        60_000,
        1000,
      );
      for (const a of failed)
        expect(a.error).toMatch(
          /certificate.*does not chain to the configured CA.*UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
        );
      const human = await sluice(['deliveries', 'crm-noca', '-c', file, '--failed']);
      expect(human.stdout).toContain('does not chain to the configured CA');
      expect(new Set(receiver.attempts.map((a) => a.webhookId)).size).toBe(receiver.attempts.length);
      expectNoSecret(human.stdout);

      const ssl = await pg.query<{ total: string; plain: string }>(
        `SELECT count(*) AS total, count(*) FILTER (WHERE NOT s.ssl) AS plain
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'sluice_app'`,
      );
      expect(Number(ssl[0]!.total)).toBeGreaterThan(0);
      expect(Number(ssl[0]!.plain)).toBe(0);

      // The stream holds the change events (read with the same mutual TLS and nkey).
      const nc = await connect({
        servers: nats.url,
        tls: { caFile: ca.caFile, certFile: clientCert.cert, keyFile: clientCert.key },
        authenticator: nkeyAuthenticator(user.getSeed()),
      });
      try {
        const info = await (await jetstreamManager(nc)).streams.info('SLUICE');
        expect(info.state.messages).toBeGreaterThan(20); // the snapshot's 20 rows and more
      } finally {
        await nc.close();
      }

      const validate = await sluice(['validate', '-c', file, '--connect']);
      expect(validate.stdout).toMatch(/nats: connected .*auth: nkey.*tls: on, server certificate verified/);
      expect(validate.stdout).toContain('source erp (postgres): ready');
      const status = await sluice(['status', '-c', file, '--json']);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('"erp"');
      for (const out of [validate.stdout, validate.stderr, status.stdout, status.stderr]) expectNoSecret(out);
    } finally {
      run.child.kill('SIGTERM');
      await run.exited;
    }
    expect(run.logs().length).toBeGreaterThan(1000); // debug logs were written ...
    expectNoSecret(run.logs()); // ... and carry no secret
  }, 240_000);

  /**
   * `sluice run` with the config `raw(proxyPort)` (a TCP proxy in front of `targetPort`) stops by
   * itself with `code` and a message matching `message`, after at most `maxAttempts` connections.
   */
  async function failsAtOnce(
    targetPort: number,
    raw: (proxyPort: number) => unknown,
    code: string,
    message: RegExp,
    maxAttempts: number,
  ): Promise<void> {
    const proxy = await TcpProxy.start(targetPort);
    try {
      const r = await runToFailure(await writeConfig(raw(proxy.port)));
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(code);
      expect(r.stderr).toMatch(message);
      expect(proxy.accepted).toBeGreaterThan(0);
      expect(proxy.accepted).toBeLessThanOrEqual(maxAttempts);
      expectNoSecret(r.stderr);
    } finally {
      await proxy.stop();
    }
  }

  it('a server certificate from another CA fails at once, not retried', async () => {
    const tls = { ca: otherCa.caFile, cert: clientCert.cert, key: clientCert.key };
    await failsAtOnce(
      nats.port,
      (port) => config({ nats: { servers: `nats://127.0.0.1:${port}`, tls } }),
      'TLS_CERTIFICATE',
      /does not chain to the configured CA/,
      2,
    );
  }, 90_000);

  it('a wrong nkey fails at once with an authentication error, not retried', async () => {
    const nkey = `\${file:${files.wrongSeed}}`;
    await failsAtOnce(
      nats.port,
      (port) => config({ nats: { servers: `nats://127.0.0.1:${port}`, nkey } }),
      'AUTH_FAILED',
      /refused the credentials/,
      2,
    );
  }, 90_000);

  it('an expired database certificate fails at once, not retried', async () => {
    const expired = await ca.issue('postgres-expired', { expired: true });
    const old = await TestPostgres.start([], {
      ssl: { cert: expired.cert, key: expired.key, ca: ca.caFile },
    });
    try {
      // No api and no webhook: the source's own connection meets the certificate, and the
      // coordinator decides whether to retry.
      await failsAtOnce(
        old.port,
        (port) => {
          const { api: _api, ...raw } = config({
            source: { name: 'old', url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres` },
          });
          return { ...raw, webhooks: [] };
        },
        'CERT_HAS_EXPIRED',
        /the certificate has expired/,
        3,
      );
    } finally {
      await old.stop();
    }
  }, 120_000);

  describe.skipIf(mariadbMissing !== undefined)(
    `MariaDB over TLS${mariadbMissing ? ` (skipped: ${mariadbMissing})` : ''}`,
    () => {
      it('a mysql source reads snapshot and binlog over verify-full TLS; a foreign CA is a non-retriable certificate error', async () => {
        const cert = await ca.issue('mariadb');
        const maria = await TestMariaDB.start([
          `--ssl-cert=${cert.cert}`,
          `--ssl-key=${cert.key}`,
          `--ssl-ca=${ca.caFile}`,
          '--performance-schema=ON',
        ]);
        try {
          const db = await openDatabase(maria.url(), { tls: { mode: 'verify-full', ca: ca.caFile } });
          try {
            const rows = (await db.knex.raw(`SHOW SESSION STATUS LIKE 'Ssl_version'`)) as [
              { Value: string }[],
            ];
            expect(rows[0][0]!.Value).toMatch(/^TLS/);
            await db.knex.raw('CREATE TABLE sluice_test.acct (id int PRIMARY KEY, name varchar(20))');
            await db.knex.raw(`INSERT INTO sluice_test.acct VALUES (1, 'snapshot')`);
            const { api: _api, ...raw } = config({
              source: {
                name: 'my',
                kind: 'mysql',
                url: maria.url(),
                tables: ['sluice_test.acct'],
                tls: { ca: ca.caFile },
              },
            });
            const cfg = parseConfig({ ...raw, webhooks: [] });
            const rt = await startRuntime(cfg, quietLog);
            try {
              await waitFor(
                async () => rt.coordinators[0]!.state === 'streaming' || null,
                'mysql source streaming',
                60_000,
              );
              await db.knex.raw(`INSERT INTO sluice_test.acct VALUES (2, 'binlog')`);
              const subjects = await waitFor(
                async () => {
                  const info = await (
                    await jetstreamManager(rt.nc)
                  ).streams.info('SLUICE', {
                    subjects_filter: 'sluice.my.>',
                  });
                  const n = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
                  return n >= 2 ? info.state.subjects : null;
                },
                'the snapshot row and the binlog insert in the stream',
                60_000,
              );
              expect(Object.keys(subjects).some((k) => k.includes('acct'))).toBe(true);
              // zongji's binlog connection is encrypted too (the server's own view of it).
              const dump = (await db.knex.raw(
                `SELECT s.VARIABLE_VALUE AS v FROM performance_schema.threads t
                   JOIN performance_schema.status_by_thread s USING (THREAD_ID)
                  WHERE s.VARIABLE_NAME = 'Ssl_version' AND t.PROCESSLIST_COMMAND LIKE 'Binlog Dump%'`,
              )) as [{ v: string }[]];
              expect(dump[0].length).toBeGreaterThan(0);
              expect(dump[0].every((r) => r.v.startsWith('TLS'))).toBe(true);
            } finally {
              await rt.stop();
            }
          } finally {
            await db.close();
          }
          const bad = await openDatabase(maria.url(), { tls: { mode: 'verify-full', ca: otherCa.caFile } });
          try {
            const err = await bad.knex.raw('SELECT 1').then(
              () => null,
              (e: unknown) => classifySqlError(e, 'mariadb', (m, o) => new BridgeError(m, o)),
            );
            expect(err).toBeInstanceOf(TlsCertificateError);
            expect(err!.retriable).toBe(false);
          } finally {
            await bad.close();
          }
        } finally {
          await maria.stop();
        }
      }, 120_000);
    },
  );
});
