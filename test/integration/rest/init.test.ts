// `sluice init --url` on each database: the starter config it writes is served unchanged.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../../src/sql/database.js';
import { buildProgram } from '../../../src/cli/main.js';
import { loadConfig } from '../../../src/config/load.js';
import { createApiRuntime, createAppFromRuntime } from '../../../src/http/server.js';
import { createLegacySchema, type Flavor } from '../../fixtures/rest/legacy-db.js';
import { checkedRequester } from '../../fixtures/rest/checked-request.js';
import { requestJson } from '../../fixtures/rest/request.js';
import { mariadbMissing, TestMariaDB } from '../../support/mariadb-server.js';
import { TestPostgres } from '../../support/postgres-server.js';

interface Backend {
  name: string;
  flavor: Flavor;
  skip?: string | undefined;
  start(dir: string): Promise<{ url: string; stop(): Promise<void> }>;
  /** SQL creating a login `initusr` with `password`, for a URL that carries a password. */
  createUser?(password: string): string[];
}

/** A password no generated text would contain by chance, with characters URLs must encode. */
const password = 'Zq8-s3cret/pw@x';

const backends: Backend[] = [
  {
    name: 'SQLite',
    flavor: 'sqlite',
    start: async (dir) => ({ url: `sqlite:${join(dir, 'legacy.db')}`, stop: async () => {} }),
  },
  {
    name: 'PostgreSQL',
    flavor: 'postgres',
    start: async () => {
      const pg = await TestPostgres.start();
      return { url: pg.url(), stop: () => pg.stop() };
    },
    createUser: (pw) => [`CREATE ROLE initusr LOGIN SUPERUSER PASSWORD '${pw}'`],
  },
  {
    name: 'MariaDB',
    flavor: 'mysql',
    skip: mariadbMissing,
    start: async () => {
      const m = await TestMariaDB.start();
      return { url: m.url(), stop: () => m.stop() };
    },
    // The test server runs with --skip-grant-tables: any user and password log in.
    createUser: () => [],
  },
];

async function runCli(args: string[]): Promise<string> {
  let err = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    await buildProgram().parseAsync(['node', 'sluice', ...args]);
  } finally {
    spy.mockRestore();
  }
  return err;
}

for (const b of backends)
  describe.skipIf(b.skip !== undefined)(
    `sluice init on ${b.name}${b.skip ? ` (skipped: ${b.skip})` : ''}`,
    () => {
      let dir: string;
      let db: { url: string; stop(): Promise<void> };
      beforeAll(async () => {
        dir = await mkdtemp(join(tmpdir(), 'sluice-init-'));
        db = await b.start(dir);
        const seed = await openDatabase(db.url);
        await createLegacySchema(seed.knex, b.flavor, true);
        for (const sql of b.createUser?.(password) ?? []) await seed.knex.raw(sql);
        await seed.close();
      });
      afterAll(async () => {
        await db?.stop();
        await rm(dir, { recursive: true, force: true });
      });

      it('writes a starter config with modern names, codecs, keys and relations that serves as is', async () => {
        const file = join(dir, 'sluice.yaml');
        const notes = await runCli(['init', '--url', db.url, '--tables', 'custmast,ordhdr', '-o', file]);
        expect(notes).toContain('has no primary key');
        const text = await readFile(file, 'utf8');
        expect(text).toContain('custNm:');
        // A URL without a password is kept as given; one with a password becomes a ${VAR}.
        const ref = /^\s+database: \$\{([A-Z0-9_]+)\}/m.exec(text)?.[1];
        if (db.url.startsWith('sqlite:') || new URL(db.url).password === '') {
          expect(ref).toBeUndefined();
          expect(text).toContain(`database: ${db.url}`);
        } else {
          expect(ref).toBeDefined();
          expect(text).not.toContain(db.url);
        }
        const cfg = await loadConfig(file, ref ? { [ref]: db.url } : {});
        const api = cfg.api!;
        const cust = api.resources.custmast!;
        expect(cust.key).toEqual(['custNo']);
        expect(cust.fields.custNm).toMatchObject({
          column: 'cust_nm',
          codec: 'trim',
          options: { length: 30 },
        });
        expect(cust.fields.actvFlg).toMatchObject({ codec: 'yn' });
        expect(cust.fields.crtDt).toMatchObject({ codec: 'yyyymmdd' });
        expect(cust.fields.balAmt).toMatchObject({ codec: 'decimal', options: { scale: 2 } });
        expect(cust.relations.ordhdr).toEqual({ resource: 'ordhdr', on: { custNo: 'custNo' }, kind: 'many' });
        expect(api.resources.ordhdr!.key).toEqual(['custNo', 'ordNo']);

        const rt = await createApiRuntime(api, cfg.sources);
        try {
          const app = createAppFromRuntime(api, rt);
          const r = await requestJson(app, 'GET', '/api/custmast?actvFlg=eq.false&limit=2&embed=ordhdr');
          expect(r.status).toBe(200);
          expect(r.json.data[0]).toMatchObject({
            custNo: 'C0003',
            custNm: 'CUSTOMER 3',
            actvFlg: false,
            balAmt: '30.03',
          });
          expect(r.json.data[0].ordhdr).toHaveLength(3);
          const o = await requestJson(app, 'GET', '/api/ordhdr/C0002,1?embed=custmast');
          expect(o.json.custmast).toMatchObject({ custNo: 'C0002' });
        } finally {
          await rt.close();
        }
      });

      it('writes a config whose OpenAPI document is true for the data it read (issue 18, item 3)', async () => {
        const file = join(dir, 'receipts.yaml');
        await runCli(['init', '--url', db.url, '--tables', 'rcvlog', '-o', file]);
        const text = await readFile(file, 'utf8');
        const ref = /^\s+database: \$\{([A-Z0-9_]+)\}/m.exec(text)?.[1];
        const cfg = await loadConfig(file, ref ? { [ref]: db.url } : {});
        const fields = cfg.api!.resources.rcvlog!.fields;
        expect(fields.rcvDt).toMatchObject({
          codec: 'yyyymmdd',
          nullable: false,
          options: { nullValues: [0] },
        });
        expect(fields.reord).toMatchObject({ codec: 'yn', nullable: false, options: { unknown: 'null' } });
        const rt = await createApiRuntime(cfg.api!, cfg.sources);
        try {
          const req = checkedRequester(createAppFromRuntime(cfg.api!, rt));
          const r = await req('GET', '/api/rcvlog?order=rcvNo');
          expect(
            (r.json.data as { rcvDt: unknown; reord: unknown }[]).map((d) => [d.rcvDt, d.reord]),
          ).toEqual([
            ['2024-01-05', true],
            [null, null],
            ['2024-02-20', null],
            ['2024-03-01', false],
          ]);
          expect((await req('GET', '/api/rcvlog?rcvDt=is.null')).json.data).toHaveLength(1);
          expect((await req('GET', '/api/rcvlog?reord=is.null')).json.data).toHaveLength(2);
        } finally {
          await rt.close();
        }
      });

      it.skipIf(b.createUser === undefined)(
        'never writes the password into the file: a ${VAR} reference, and the variable to set printed (issue 10, item 9)',
        async () => {
          const u = new URL(db.url);
          u.username = 'initusr';
          u.password = encodeURIComponent(password);
          const url = u.toString();
          const file = join(dir, 'secret.yaml');
          const err = await runCli(['init', '--url', url, '--tables', 'custmast', '-o', file]);
          const text = await readFile(file, 'utf8');
          for (const secret of [password, encodeURIComponent(password), url, 's3cret'])
            expect(text).not.toContain(secret);
          const name = /^\s+database: \$\{([A-Z0-9_]+)\}/m.exec(text)?.[1];
          expect(name).toMatch(/_DATABASE_URL$/);
          expect(err).toContain(`export ${name}='${url}'`);
          // The file does not load without the variable, and serves with it.
          await expect(loadConfig(file, {})).rejects.toThrow(`${name} is not set`);
          const cfg = await loadConfig(file, { [name!]: url });
          const rt = await createApiRuntime(cfg.api!, cfg.sources);
          try {
            const r = await requestJson(createAppFromRuntime(cfg.api!, rt), 'GET', '/api/custmast/C0001');
            expect(r.status).toBe(200);
            expect(r.json).toMatchObject({ custNo: 'C0001' });
          } finally {
            await rt.close();
          }
        },
      );
    },
  );
