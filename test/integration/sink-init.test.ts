// `sluice sink init`: the migration written from a real PostgreSQL schema and the mapping runs on
// PostgreSQL and SQLite and creates the renamed table and the resource's table with its key.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { dialectForUrl } from '../../src/sql/dialects.js';
import { TestPostgres } from '../support/postgres-server.js';

let pg: TestPostgres;

beforeAll(async () => {
  pg = await TestPostgres.start();
  await pg.query(`CREATE TABLE custmast (cust_no char(8) PRIMARY KEY, cust_nm varchar(30) NOT NULL, bal_amt numeric(12,2),
      upd_ts timestamp, secret text);
    CREATE TABLE ordhdr (ord_no int PRIMARY KEY, status char(1), ord_dt int, tot_cents bigint);`);
  await pg.query('CREATE DATABASE newdb');
}, 60_000);

afterAll(async () => {
  await pg?.stop();
});

test(
  'sink init writes a migration that creates the target tables on PostgreSQL and SQLite',
  { timeout: 60_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-sink-init-'));
    const file = join(dir, 'sluice.yaml');
    await writeFile(
      file,
      JSON.stringify({
        sources: [
          { name: 'erp', kind: 'postgres', url: pg.url(), tables: ['public.custmast', 'public.ordhdr'] },
        ],
        api: {
          resources: {
            orders: {
              source: 'erp',
              table: 'public.ordhdr',
              key: ['id'],
              fields: {
                id: { column: 'ord_no', codec: 'int', nullable: false },
                open: { column: 'status', codec: 'yn', options: { true: 'O', false: 'C' } },
                orderedOn: { column: 'ord_dt', codec: 'yyyymmdd' },
                total: { column: 'tot_cents', codec: 'cents' },
              },
            },
          },
        },
        sinks: [
          {
            name: 'newdb',
            url: pg.url('newdb'),
            from: 'erp',
            tables: {
              'public.custmast': {
                table: 'customers',
                columns: { cust_no: 'id', cust_nm: 'name' },
                exclude: ['secret'],
              },
              'public.ordhdr': { resource: 'orders' },
            },
          },
        ],
      }),
    );
    const root = resolve(import.meta.dirname, '../..');
    const out = join(dir, 'migrations');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'sink', 'init', 'newdb', '-c', file, '--dir', out],
      { cwd: root, encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const [name] = await readdir(out);
    expect(name).toMatch(/^\d{14}_sink_newdb\.js$/);
    const text = await readFile(join(out, name!), 'utf8');
    expect(text).not.toMatch(/secret/);
    const migration = (await import(pathToFileURL(join(out, name!)).href)) as {
      up(k: Knex): Promise<void>;
      down(k: Knex): Promise<void>;
    };
    for (const url of [pg.url('newdb'), `sqlite:${join(dir, 'new.db')}`]) {
      const k = knexFactory(await (await dialectForUrl(url)).knexConfig(url));
      try {
        await migration.up(k);
        const cust = await k('customers').columnInfo();
        expect(Object.keys(cust).sort()).toEqual(['bal_amt', 'id', 'name', 'upd_ts']);
        expect(cust.name!.nullable).toBe(false);
        const orders = await k('orders').columnInfo();
        expect(Object.keys(orders).sort()).toEqual(['id', 'open', 'orderedOn', 'total']);
        await k('orders').insert({ id: 1, open: true, orderedOn: '2024-01-02', total: '12.34' });
        await expect(k('orders').insert({ id: 1 })).rejects.toThrow(); // the key is the primary key
        await migration.down(k);
        expect(await k.schema.hasTable('customers')).toBe(false);
      } finally {
        await k.destroy();
      }
    }
  },
);
