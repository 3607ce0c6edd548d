// NATS decentralized auth the way managed NATS and `nsc` deployments run it: nats-server in operator
// mode (an operator JWT, a memory resolver preloaded with the system and the application account,
// JetStream enabled for the account by its JWT limits), and Sluice holding only a `.creds` file
// (user JWT + nkey seed) given as `${file:...}`. The change stream is written through it, `validate
// --connect` names the method, a user signed by an account the server does not trust is refused at
// once, and the seed appears in no log line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  createAccount,
  createOperator,
  createUser,
  encodeAccount,
  encodeOperator,
  encodeUser,
  fmtCreds,
} from '@nats-io/jwt';
import { connect, credsAuthenticator } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSluice, sluice } from '../support/cli.js';
import { TestNatsServer } from '../support/nats-server.js';
import { waitFor } from '../support/ports.js';
import { TestPostgres } from '../support/postgres-server.js';

/** An account JWT's limits left unset are zero: no connections, no subscriptions, no JetStream. */
const unlimited = {
  subs: -1,
  data: -1,
  payload: -1,
  conn: -1,
  leaf: -1,
  imports: -1,
  exports: -1,
  wildcards: true,
  mem_storage: -1,
  disk_storage: -1,
  streams: -1,
  consumer: -1,
};

describe('NATS .creds authentication against an operator-mode nats-server', () => {
  let dir: string;
  let nats: TestNatsServer;
  let pg: TestPostgres;
  let credsFile: string;
  let foreignCredsFile: string;
  let creds: Uint8Array;
  let seed: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-creds-'));
    const operator = createOperator();
    const system = createAccount();
    const app = createAccount();
    const sysJwt = await encodeAccount('SYS', system, {}, { signer: operator });
    const appJwt = await encodeAccount('APP', app, { limits: unlimited }, { signer: operator });
    const opJwt = await encodeOperator('OP', operator, { system_account: system.getPublicKey() });
    const user = createUser();
    seed = new TextDecoder().decode(user.getSeed());
    creds = fmtCreds(await encodeUser('sluice', user, app), user);
    // The same user signed by an account the operator never issued.
    const stranger = createUser();
    const foreign = fmtCreds(await encodeUser('stranger', stranger, createAccount()), stranger);
    credsFile = join(dir, 'sluice.creds');
    foreignCredsFile = join(dir, 'foreign.creds');
    await writeFile(credsFile, creds, { mode: 0o600 });
    await writeFile(foreignCredsFile, foreign, { mode: 0o600 });
    const conf = join(dir, 'nats.conf');
    await writeFile(
      conf,
      [
        `operator: ${opJwt}`,
        `system_account: ${system.getPublicKey()}`,
        'resolver: MEMORY',
        'resolver_preload: {',
        `  ${system.getPublicKey()}: ${sysJwt}`,
        `  ${app.getPublicKey()}: ${appJwt}`,
        '}',
      ].join('\n'),
    );
    [nats, pg] = await Promise.all([TestNatsServer.start(['-c', conf]), TestPostgres.start()]);
    await pg.query(`CREATE TABLE items (id int PRIMARY KEY, name text)`);
    await pg.query(`INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 25) g`);
  }, 120_000);

  afterAll(async () => {
    await nats?.stop();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** `creds` is the file's path, or its content read with `${file:...}` (`asSecret`). */
  async function writeConfig(name: string, credsPath: string, asSecret: boolean): Promise<string> {
    const file = join(dir, `${name}.yaml`);
    const raw = {
      nats: {
        servers: nats.url,
        creds: asSecret ? `\${file:${credsPath}}` : credsPath,
        commitInterval: '50ms',
      },
      sources: [{ name: 'erp', kind: 'postgres', url: pg.url(), tables: ['public.items'] }],
    };
    await writeFile(file, JSON.stringify(raw, null, 2));
    return file;
  }

  it('streams into JetStream with only a .creds file, and says so in validate --connect', async () => {
    const file = await writeConfig('good', credsFile, true);
    const { child, exited, logs: output } = runSluice(file);
    const nc = await connect({ servers: nats.url, authenticator: credsAuthenticator(creds) });
    try {
      const jsm = await jetstreamManager(nc);
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`sluice exited: ${output()}`);
          const info = await jsm.streams.info('SLUICE').catch(() => null);
          return info && info.state.messages >= 25 ? info : null;
        },
        'the snapshot in the stream',
        90_000,
        250,
      );
      await pg.query(`UPDATE items SET name = 'renamed' WHERE id = 7`);
      await waitFor(
        async () => ((await jsm.streams.info('SLUICE')).state.messages >= 26 ? true : null),
        'the update in the stream',
        60_000,
        250,
      );
      const validate = await sluice(['validate', '-c', file, '--connect']);
      expect(validate.stdout).toMatch(/nats: connected .*auth: creds/);
      expect(validate.stdout + validate.stderr).not.toContain(seed);
    } finally {
      await nc.close();
      child.kill('SIGTERM');
      await exited;
    }
    expect(output().length).toBeGreaterThan(200); // logs were written ...
    expect(output()).not.toContain(seed); // ... and carry no seed
  }, 180_000);

  it('a user of an account the server does not trust is refused at once with AUTH_FAILED', async () => {
    const file = await writeConfig('foreign', foreignCredsFile, false);
    const r = await sluice(['run', '-c', file], 60_000);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('AUTH_FAILED');
    expect(r.stderr).not.toMatch(/SU[A-Z2-7]{50,}/);
  }, 90_000);
});
