// `npm run bench -- --peers`: Sluice's REST API beside Platformatic DB, a peer a user would pick
// instead (auto-generated REST over the same PostgreSQL table), in the same run. Platformatic is
// installed with `npm install --prefix <tmp>` into a temporary directory (never into this project's
// dependencies); each server runs in its own child process, in alternating rounds, under the load
// generator and /proc CPU measurement of bench/rest.ts.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { alternate, announce, compare, seedLegacy, startServer, startSluiceApi } from './rest.js';
import type { BenchOptions, BenchResult } from './types.js';

const here = fileURLToPath(import.meta.url);
/** 2.61 is the version of issue #16's measurement and runs on Node 20 (3.x needs Node 22). */
export const platformaticVersion = '2.61.0';
const rowCount = 100_000;

/** Installs @platformatic/db into a fresh temporary directory and returns that directory. */
async function installPlatformatic(log: (line: string) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-peer-'));
  log(`peers: npm install --prefix ${dir} @platformatic/db@${platformaticVersion}`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  await promisify(execFile)(
    npm,
    [
      'install',
      '--prefix',
      dir,
      '--no-audit',
      '--no-fund',
      '--no-save',
      '--loglevel=error',
      `@platformatic/db@${platformaticVersion}`,
    ],
    { timeout: 600_000, maxBuffer: 16 * 2 ** 20 },
  );
  return dir;
}

/** Child process: Platformatic DB over `dbUrl` with its REST (OpenAPI) API only, logging errors only. */
async function servePlatformatic(dir: string, dbUrl: string): Promise<void> {
  const entry = pathToFileURL(join(dir, 'node_modules', '@platformatic', 'db', 'index.js')).href;
  const mod = (await import(entry)) as {
    default: {
      buildServer: (config: object) => Promise<{ start: () => Promise<string>; close: () => Promise<void> }>;
    };
  };
  const app = await mod.default.buildServer({
    server: { hostname: '127.0.0.1', port: 0, logger: { level: 'error' } },
    db: { connectionString: dbUrl, openapi: true, graphql: false, events: false },
  });
  const url = await app.start();
  announce(url, () => app.close());
}

export async function runPeersBench(opts: BenchOptions): Promise<BenchResult[]> {
  const { TestPostgres } = await import('../test/support/postgres-server.js');
  const { custId } = await import('../test/fixtures/rest/legacy-db.js');
  const dir = process.env.SLUICE_BENCH_PEER_DIR ?? (await installPlatformatic(opts.log));
  const pg = await TestPostgres.start();
  try {
    await seedLegacy(pg.url(), rowCount);
    const key = (i: number) => custId(((i * 7919) % rowCount) + 1);
    const contenders = [
      {
        name: 'platformatic',
        start: () => startServer('platformatic', [dir, pg.url()], here),
        // The same row and the same 50-row page: cust_no is CHAR(8), compared blank-padded.
        byKey: (i: number) => `/custmast/${key(i)}`,
        list: () => '/custmast?where.actvFlg.eq=Y&orderby.custNo=asc&limit=50',
      },
      {
        name: 'sluice',
        start: () => startServer('sluice', [pg.url()], here),
        byKey: (i: number) => `/api/customers/${key(i)}`,
        list: () => '/api/customers?active=eq.true&limit=50',
      },
    ];
    const m = await alternate(contenders, opts, 'peers');
    return compare(
      m,
      'peers rest',
      'sluice',
      'platformatic',
      `Platformatic DB ${platformaticVersion}, same table`,
    );
  } finally {
    await pg.stop();
    if (!process.env.SLUICE_BENCH_PEER_DIR) await rm(dir, { recursive: true, force: true });
  }
}

const serveAt = process.argv.indexOf('--serve');
if (serveAt >= 0 && process.argv[1] === here) {
  const [mode, ...args] = process.argv.slice(serveAt + 1);
  if (mode === 'platformatic') await servePlatformatic(args[0]!, args[1]!);
  else {
    const { url, close } = await startSluiceApi(args[0]!);
    announce(url, close);
  }
}
