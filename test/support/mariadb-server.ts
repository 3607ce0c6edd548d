// A private MariaDB on a free port in a temp directory (mariadb-install-db + mariadbd), for tests.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

const installDb = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((p) => existsSync(p));
const serverBin = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld'].find((p) => existsSync(p));

/** Why MariaDB tests cannot run here, or undefined when they can. */
export const mariadbMissing: string | undefined =
  installDb && serverBin ? undefined : 'MariaDB is not installed (apt-get install -y mariadb-server)';

export class TestMariaDB {
  private constructor(
    private readonly proc: ChildProcess,
    readonly port: number,
    readonly dir: string,
  ) {}

  url(database = 'sluice_test'): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<TestMariaDB> {
    if (mariadbMissing) throw new Error(mariadbMissing);
    const dir = await mkdtemp(join(tmpdir(), 'sluice-mariadb-'));
    const data = join(dir, 'data');
    const init = spawnSync(
      installDb!,
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=root',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      {
        encoding: 'utf8',
      },
    );
    if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr}${init.stdout}`);
    const port = await freePort();
    const proc = spawn(
      serverBin!,
      [
        '--no-defaults',
        `--datadir=${data}`,
        '--user=root',
        `--port=${port}`,
        `--socket=${join(dir, 'sock')}`,
        `--pid-file=${join(dir, 'pid')}`,
        '--bind-address=127.0.0.1',
        '--skip-grant-tables',
        '--innodb-flush-log-at-trx-commit=0',
        '--log-bin=' + join(dir, 'binlog'),
        '--binlog-format=ROW',
        '--server-id=1',
      ],
      { stdio: 'ignore' },
    );
    const server = new TestMariaDB(proc, port, dir);
    try {
      await waitFor(
        async () => (await server.exec('CREATE DATABASE IF NOT EXISTS sluice_test')) === 0,
        'MariaDB to accept connections',
        60_000,
        100,
      );
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Runs SQL with the mariadb client over TCP; resolves to its exit code. */
  exec(sql: string): Promise<number> {
    return new Promise((resolve) => {
      const p = spawn('mariadb', ['-h127.0.0.1', `-P${this.port}`, '-uroot', '-e', sql], { stdio: 'ignore' });
      p.on('exit', (code) => resolve(code ?? 1));
      p.on('error', () => resolve(1));
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
