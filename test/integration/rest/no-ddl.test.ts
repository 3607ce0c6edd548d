// Serving the API leaves the legacy database as it was (issue 10, item 16): the catalog before and
// after starting the REST service and querying it is identical, for a read-only config and for a
// writable one; only the explicit `sluice migrate --api` creates the idempotency table.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse, stringify } from 'yaml';
import type { Knex } from 'knex';
import { openDatabase, type ApiDatabase } from '../../../src/sql/database.js';
import { buildProgram } from '../../../src/cli/main.js';
import { parseConfig } from '../../../src/config/load.js';
import { startApi } from '../../../src/http/server.js';
import { createLogger } from '../../../src/util/logger.js';
import { createLegacySchema, type Flavor } from '../../fixtures/rest/legacy-db.js';
import { mariadbMissing, TestMariaDB } from '../../support/mariadb-server.js';
import { TestPostgres } from '../../support/postgres-server.js';

interface Backend {
  name: string;
  flavor: Flavor;
  skip?: string | undefined;
  start(dir: string): Promise<{ url: string; stop(): Promise<void> }>;
  /** Every object of the database a client could have created: tables, indexes, sequences, views, routines, triggers. */
  catalog(knex: Knex): Promise<string[]>;
}

const rows = (r: unknown): Record<string, unknown>[] =>
  Array.isArray(r)
    ? Array.isArray(r[0])
      ? (r[0] as Record<string, unknown>[])
      : r
    : (r as { rows: Record<string, unknown>[] }).rows;
const lines = (r: unknown) =>
  rows(r)
    .map((x) => Object.values(x).map(String).join(' '))
    .sort();

const backends: Backend[] = [
  {
    name: 'SQLite',
    flavor: 'sqlite',
    start: async (dir) => ({ url: `sqlite:${join(dir, 'legacy.db')}`, stop: async () => {} }),
    catalog: async (knex) => lines(await knex.raw('SELECT type, name, tbl_name FROM sqlite_master')),
  },
  {
    name: 'PostgreSQL',
    flavor: 'postgres',
    start: async () => {
      const pg = await TestPostgres.start();
      return { url: pg.url(), stop: () => pg.stop() };
    },
    catalog: async (knex) => [
      ...lines(
        await knex.raw(`SELECT n.nspname, c.relname, c.relkind FROM pg_class c
          JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'`),
      ),
      ...lines(
        await knex.raw(`SELECT n.nspname, p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')`),
      ),
      ...lines(await knex.raw('SELECT tgname FROM pg_trigger WHERE NOT tgisinternal')),
      ...lines(await knex.raw('SELECT nspname FROM pg_namespace')),
    ],
  },
  {
    name: 'MariaDB',
    flavor: 'mysql',
    skip: mariadbMissing,
    start: async () => {
      const m = await TestMariaDB.start();
      return { url: m.url(), stop: () => m.stop() };
    },
    catalog: async (knex) => {
      const user = `NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')`;
      return [
        ...lines(
          await knex.raw(
            `SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema ${user}`,
          ),
        ),
        ...lines(
          await knex.raw(
            `SELECT index_schema, table_name, index_name FROM information_schema.statistics WHERE index_schema ${user}`,
          ),
        ),
        ...lines(
          await knex.raw(
            `SELECT routine_schema, routine_name FROM information_schema.routines WHERE routine_schema ${user}`,
          ),
        ),
        ...lines(
          await knex.raw(
            `SELECT trigger_schema, trigger_name FROM information_schema.triggers WHERE trigger_schema ${user}`,
          ),
        ),
        ...lines(await knex.raw('SELECT schema_name FROM information_schema.schemata')),
      ];
    },
  },
];

const fixture = parse(readFileSync(new URL('../../fixtures/rest/legacy.yaml', import.meta.url), 'utf8')) as {
  api: { resources: Record<string, Record<string, unknown>> } & Record<string, unknown>;
};

/** The fixture config with `database` set; `readOnly` grants anonymous callers `read` only. */
function configObject(url: string, readOnly: boolean): Record<string, unknown> {
  const api = structuredClone(fixture.api);
  api.database = url;
  api.listen = '127.0.0.1:0';
  if (readOnly) for (const r of Object.values(api.resources)) r.access = { anonymous: ['read'] };
  return { api };
}

async function runCli(args: string[]): Promise<string> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  try {
    await buildProgram().parseAsync(['node', 'sluice', ...args]);
  } finally {
    spy.mockRestore();
  }
  return out;
}

const log = createLogger('silent');

for (const b of backends)
  describe.skipIf(b.skip !== undefined)(
    `sluice serve leaves the ${b.name} database as it was${b.skip ? ` (skipped: ${b.skip})` : ''}`,
    () => {
      let dir: string;
      let db: { url: string; stop(): Promise<void> };
      let probe: ApiDatabase;

      beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'sluice-noddl-'));
        db = await b.start(dir);
        probe = await openDatabase(db.url);
        await createLegacySchema(probe.knex, b.flavor);
      });
      afterAll(async () => {
        await probe?.close();
        await db?.stop();
        await rm(dir, { recursive: true, force: true });
      });

      /** Starts the API as `sluice serve` does, runs `use`, stops it. */
      async function serving(cfg: Record<string, unknown>, use: (base: string) => Promise<void>) {
        const api = await startApi(parseConfig(cfg, {}), log);
        try {
          await use(`${api.url}/api`);
        } finally {
          await api.close();
        }
      }

      it('read-only config: starting and querying the API changes nothing in the catalog', async () => {
        const before = await b.catalog(probe.knex);
        expect(before.join('\n')).toContain('custmast');
        await serving(configObject(db.url, true), async (base) => {
          for (const path of [
            '/customers?limit=5&embed=orders',
            '/customers/C0003?embed=orders',
            '/orders?customerId=eq.C0003',
            '/events',
          ])
            expect((await fetch(`${base}${path}`)).status, path).toBe(200);
          const count = await fetch(`${base}/customers?limit=1`, { headers: { prefer: 'count=exact' } });
          expect(count.status).toBe(200);
          const post = await fetch(`${base}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'idempotency-key': 'k1' },
            body: JSON.stringify({ message: 'no' }),
          });
          expect(post.status).toBe(401);
        });
        expect(await b.catalog(probe.knex)).toEqual(before);
        // Nothing to install for a read-only API either.
        const file = join(dir, 'read-only.yaml');
        await writeFile(file, stringify(configObject(db.url, true)));
        expect(await runCli(['migrate', '--api', '-c', file])).toContain('nothing to install');
        expect(await b.catalog(probe.knex)).toEqual(before);
      });

      it('writable config: no table at start; Idempotency-Key gets a 501 problem until `sluice migrate --api`', async () => {
        const before = await b.catalog(probe.knex);
        const cfg = configObject(db.url, false);
        const events = async () =>
          Number(((await probe.knex('evtlog').count({ n: '*' }).first()) as { n: number | string }).n);
        const post = (base: string, key?: string) =>
          fetch(`${base}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(key ? { 'idempotency-key': key } : {}) },
            body: JSON.stringify({ message: 'hello' }),
          });
        await serving(cfg, async (base) => {
          const n = await events();
          const refused = await post(base, 'k-1');
          expect(refused.status).toBe(501);
          expect(refused.headers.get('content-type')).toBe('application/problem+json');
          const problem = (await refused.json()) as { code: string; detail: string };
          expect(problem.code).toBe('IDEMPOTENCY_NOT_INSTALLED');
          expect(problem.detail).toContain('sluice migrate --api');
          expect(await events()).toBe(n);
          // Without the header, writes work.
          expect((await post(base)).status).toBe(201);
          expect(await events()).toBe(n + 1);
        });
        expect(await b.catalog(probe.knex)).toEqual(before);

        const file = join(dir, 'writable.yaml');
        await writeFile(file, stringify(cfg));
        expect(await runCli(['migrate', '--api', '-c', file])).toContain('installed');
        const after = await b.catalog(probe.knex);
        expect(after.join('\n')).toContain('sluice_idempotency');
        await serving(cfg, async (base) => {
          const a = await post(base, 'k-2');
          const again = await post(base, 'k-2');
          expect(a.status).toBe(201);
          expect(again.status).toBe(201);
          expect(again.headers.get('idempotent-replayed')).toBe('true');
        });
        expect(await b.catalog(probe.knex)).toEqual(after);
        expect(await runCli(['migrate', '--api', '--down', '-c', file])).toContain('removed');
        expect(await b.catalog(probe.knex)).toEqual(before);
      });
    },
  );
