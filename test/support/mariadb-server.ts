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
    private proc: ChildProcess,
    readonly port: number,
    readonly dir: string,
    private readonly args: readonly string[],
  ) {}

  url(database = 'sluice_test'): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  /**
   * `args` are added to the server's command line. The binlog is on in ROW format with FULL row
   * images and row metadata (what `kind: mysql` sources need); MariaDB's GTIDs are always on.
   */
  static async start(args: readonly string[] = []): Promise<TestMariaDB> {
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
    const argv = [
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
      '--binlog-row-image=FULL',
      '--binlog-row-metadata=FULL',
      '--server-id=1',
      ...args,
    ];
    const server = new TestMariaDB(spawn(serverBin!, argv, { stdio: 'ignore' }), port, dir, argv);
    try {
      await server.ready();
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  private async ready(): Promise<void> {
    await waitFor(
      async () => (await this.exec('CREATE DATABASE IF NOT EXISTS sluice_test')) === 0,
      'MariaDB to accept connections',
      60_000,
      100,
    );
  }

  /** Stops the server (SIGTERM, or SIGKILL for a crash) and starts it again on the same data and port. */
  async restart(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill(signal);
      await exited;
    }
    this.proc = spawn(serverBin!, this.args, { stdio: 'ignore' });
    await this.ready();
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
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGTERM');
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}
