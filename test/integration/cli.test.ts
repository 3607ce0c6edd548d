// The `sluice` command as a user runs it: exit codes, messages, status, tail and the demo.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { sluice } from '../support/cli.js';
import { Harness } from '../support/harness.js';
import { TestPostgres } from '../support/postgres-server.js';

let h: Harness;
let rt: Runtime;
let cfgFile: string;

beforeAll(async () => {
  h = await Harness.start();
  await h.pg
    .query(`CREATE TABLE accounts (id int PRIMARY KEY, name text); INSERT INTO accounts VALUES (1, 'one'), (2, 'two');
                    CREATE TABLE noise (id serial PRIMARY KEY, v text);`);
  const raw = h.rawConfig({ name: 'cli', tables: ['public.accounts'] });
  cfgFile = await h.writeConfig(raw);
  rt = await h.runInProcess(h.config({ name: 'cli', tables: ['public.accounts'] }));
  await h.waitForEvents('cli', 2);
});

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

describe('sluice CLI', () => {
  test('a bad config exits 2 and lists every problem by path, without a stack trace', async () => {
    const file = join(h.dir, 'bad.yaml');
    await writeFile(
      file,
      'nats:\n  stream: "has space"\nsources:\n  - name: x\n    kind: postgres\n    url: mysql://a\n    tables: [t]\n',
    );
    const r = await sluice(['validate', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nats.stream:');
    expect(r.stderr).toContain('sources[0].url: expected a postgres:// URL');
    expect(r.stderr).toContain('sources[0].tables[0]: expected schema.table');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const yamlFile = join(h.dir, 'flow.yaml');
    await writeFile(yamlFile, 'nats: { servers: ${NATS_URL} }\nsources: []\n');
    const y = await sluice(['validate', '-c', yamlFile]);
    expect(y.code).toBe(2);
    expect(y.stderr.match(/yaml: /g)).toHaveLength(1); // one error, not the parser's cascade
    expect(y.stderr).toContain('yaml: line 1, column 19: ');
    expect(y.stderr).toContain('hint: line 1 has an unquoted ${NATS_URL} inside a { } flow map');
    expect((await sluice(['run', '-c', join(h.dir, 'missing.yaml')])).code).toBe(2);
    expect((await sluice(['no-such-verb'])).code).toBe(2);
  });

  test('status shows the state, the committed offset, the slot and its retained WAL', async () => {
    const r = await sluice(['status', '-c', cfgFile, '--json']);
    expect(r.code).toBe(0);
    const [row] = JSON.parse(r.stdout) as Record<string, unknown>[];
    expect(row).toMatchObject({
      source: 'cli',
      kind: 'postgres',
      state: 'streaming',
      slot: 'sluice_cli',
      slotExists: true,
      slotActive: true,
    });
    expect(row!.offset).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(typeof row!.retainedWalBytes).toBe('number');
    expect(typeof row!.lagBytes).toBe('number');
  });

  test('tail prints events readably', async () => {
    const r = await sluice(['tail', 'sluice.cli.>', '-c', cfgFile, '--from-start', '-n', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/READ +public\.accounts key=\{"id":1\}/);
    expect(r.stdout).toContain('name="two"');
  });

  test('a quiet captured database does not pin WAL while other tables are busy', async () => {
    const before = (
      await h.pg.query<{ l: string }>(
        `SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = 'sluice_cli'`,
      )
    )[0]!.l;
    for (let i = 0; i < 50; i++)
      await h.pg.query(`INSERT INTO noise (v) SELECT md5(g::text) FROM generate_series(1, 200) g`);
    const { waitFor } = await import('../support/ports.js');
    // Heartbeats (every second in tests) are decoded and acknowledged, so the slot follows the WAL.
    await waitFor(
      async () => {
        const [r] = await h.pg.query<{ behind: string }>(
          `SELECT pg_wal_lsn_diff(confirmed_flush_lsn, $1::pg_lsn)::text AS behind FROM pg_replication_slots WHERE slot_name = 'sluice_cli'`,
          [before],
        );
        return Number(r!.behind) > 500_000;
      },
      'the slot to advance past the noise',
      30_000,
      200,
    );
  });

  test('validate --connect explains what a server without logical replication lacks', async () => {
    const plain = await TestPostgres.start(['-c', 'wal_level=replica']);
    try {
      await plain.query(
        `CREATE TABLE nokey (a int); CREATE ROLE app LOGIN PASSWORD 'app'; GRANT SELECT ON nokey TO app;`,
      );
      const file = join(h.dir, 'plain.yaml');
      const url = plain.url().replace('postgres:postgres@', 'app:app@');
      await writeFile(
        file,
        JSON.stringify({
          nats: { servers: h.nats.url },
          sources: [{ name: 'plain', kind: 'postgres', url, tables: ['public.nokey', 'public.absent'] }],
        }),
      );
      const r = await sluice(['validate', '-c', file, '--connect']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('NOT READY');
      expect(r.stdout).toContain('wal_level is replica: run ALTER SYSTEM SET wal_level = logical');
      expect(r.stdout).toContain('role app cannot use replication: run ALTER ROLE "app" WITH REPLICATION');
      expect(r.stdout).toContain('table public.absent does not exist');
      expect(r.stdout).toMatch(/public\.nokey has no primary key .* REPLICA IDENTITY FULL/);
    } finally {
      await plain.stop();
    }
  });

  test('the demo prints change events and the URLs to try', async () => {
    const r = await sluice(['demo', '--exit'], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/READ +erp\.custmast/);
    expect(r.stdout).toMatch(/INSERT erp\.custmast key=\{"CUST_NO":"C0000004"\}/);
    expect(r.stdout).toMatch(/UPDATE erp\.ordhdr/);
    expect(r.stdout).toMatch(/DELETE erp\.custmast/);
    expect(r.stdout).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/api\/customers → 201/);
    expect(r.stdout).toMatch(/INSERT erp\.custmast key=\{"CUST_NO":"C0000005"\}/);
    expect(r.stdout).toContain('/api/docs');
    // The demo's webhook receiver verified every delivery, in the resource's API shape.
    expect(r.stdout).toMatch(/⇢ webhook customers\.created C0000004 {2}signature verified ✓ {2}\{"id":"C0000004"/);
    expect(r.stdout).toMatch(/⇢ webhook customers\.deleted C0000003 {2}signature verified ✓/);
    expect(r.stdout).not.toContain('INVALID');
    expect(r.stdout).toMatch(/curl -N http:\/\/127\.0\.0\.1:\d+\/api\/customers\/changes/);
  });
});
