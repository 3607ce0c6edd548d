// A PostgreSQL-only user never loads the SQL Server or Oracle drivers: they load when knex opens
// a pool for an mssql:// or oracle:// URL. Checked in a fresh Node process (the test runner's own
// module registry already holds whatever other test files imported).
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const src = (p: string) => JSON.stringify(pathToFileURL(resolve(ROOT, 'src', p)).href);

/** Imports the CLI, config loader and dialect index, opens `url`'s database (no query), lists loaded SQL Server/Oracle driver packages. */
async function driversLoadedAfter(url: string): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    await import(${src('cli/main.ts')});
    await import(${src('config/load.ts')});
    const { dialectForUrl } = await import(${src('sql/dialects.ts')});
    const { openDatabase } = await import(${src('sql/database.ts')});
    await dialectForUrl(${JSON.stringify(url)});
    const db = await openDatabase(${JSON.stringify(url)});
    await db.close();
    const loaded = new Set();
    for (const k of Object.keys(createRequire(import.meta.url).cache)) {
      const m = /[\\\\/]node_modules[\\\\/](tedious|mssql|oracledb)[\\\\/]/.exec(k);
      if (m) loaded.add(m[1]);
    }
    process.stdout.write(JSON.stringify([...loaded].sort()));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: ROOT, timeout: 60_000 },
  );
  return JSON.parse(stdout) as string[];
}

describe('driver loading', () => {
  it('the CLI, config loader and a postgres:// database load neither tedious/mssql nor oracledb', async () => {
    expect(await driversLoadedAfter('postgres://app@127.0.0.1:1/erp')).toEqual([]);
  }, 60_000);

  // The same probe sees the drivers when they are used, so the empty list above means something.
  it('an mssql:// database loads tedious and an oracle:// database loads oracledb', async () => {
    expect(await driversLoadedAfter('mssql://sa:pw@127.0.0.1:1/erp')).toEqual(['tedious']);
    expect(await driversLoadedAfter('oracle://app:pw@127.0.0.1:1/FREEPDB1')).toEqual(['oracledb']);
  }, 120_000);
});
