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
import { requestJson } from '../../fixtures/rest/request.js';
import { mariadbMissing, TestMariaDB } from '../../support/mariadb-server.js';
import { TestPostgres } from '../../support/postgres-server.js';

interface Backend {
  name: string;
  flavor: Flavor;
  skip?: string | undefined;
  start(dir: string): Promise<{ url: string; stop(): Promise<void> }>;
}

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
  },
  {
    name: 'MariaDB',
    flavor: 'mysql',
    skip: mariadbMissing,
    start: async () => {
      const m = await TestMariaDB.start();
      return { url: m.url(), stop: () => m.stop() };
    },
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
        const cfg = await loadConfig(file);
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
    },
  );
