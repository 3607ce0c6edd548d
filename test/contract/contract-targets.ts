// Databases for the contract suite: SQLite files, a private MariaDB, a private PostgreSQL, and
// SQL Server / Oracle when MSSQL_URL / ORACLE_URL point at one.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/sql/database.js';
import { mariadbMissing, TestMariaDB } from '../support/mariadb-server.js';
import { TestPostgres } from '../support/postgres-server.js';

export interface Db {
  readonly url: string;
  readonly knex: Knex;
  /** schema.table of a table named `name`. */
  qualified(name: string): string;
  readonly dir: string;
  stop(): Promise<void>;
}

export type DbKind = 'sqlite' | 'postgres' | 'mariadb' | 'mssql' | 'oracle';

export function skipReason(kind: DbKind): string | undefined {
  if (kind === 'mariadb') return mariadbMissing;
  if (kind === 'mssql' && !process.env.MSSQL_URL) return 'MSSQL_URL is not set (docker compose up mssql)';
  if (kind === 'oracle' && !process.env.ORACLE_URL)
    return 'ORACLE_URL is not set (docker compose --profile oracle up)';
  return undefined;
}

export async function startDb(kind: DbKind): Promise<Db> {
  const dir = await mkdtemp(join(tmpdir(), `sluice-${kind}-`));
  let url: string;
  let schema: string;
  let stopServer: () => Promise<void> = async () => {};
  switch (kind) {
    case 'sqlite':
      url = `sqlite:${join(dir, 'legacy.db')}`;
      schema = 'main';
      break;
    case 'postgres': {
      const pg = await TestPostgres.start();
      url = pg.url();
      schema = 'public';
      stopServer = () => pg.stop();
      break;
    }
    case 'mariadb': {
      const m = await TestMariaDB.start();
      url = m.url();
      schema = 'sluice_test';
      stopServer = () => m.stop();
      break;
    }
    case 'mssql':
      url = process.env.MSSQL_URL!;
      schema = 'dbo';
      break;
    case 'oracle':
      url = process.env.ORACLE_URL!;
      schema = (decodeURIComponent(new URL(url).username) || 'SYSTEM').toUpperCase();
      break;
    default: {
      const never: never = kind;
      throw new Error(`unknown database ${String(never)}`);
    }
  }
  const db = await openDatabase(url);
  if (kind === 'sqlite') await db.knex.raw('PRAGMA journal_mode = WAL');
  return {
    url,
    knex: db.knex,
    dir,
    qualified: (name) => `${schema}.${name}`,
    async stop() {
      await db.close().catch(() => {});
      await stopServer();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
