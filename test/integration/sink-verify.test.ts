// `sluice verify` on real PostgreSQL databases: a 200k-row table (the issue asks for a million;
// 200k keeps this test bounded on a shared 2-core machine; SLUICE_VERIFY_ROWS=1000000 runs the
// million) copied through renamed columns, with a
// changed, a missing and an extra row planted in the target; verify names exactly those three,
// by chunk checksums computed in the databases, and exits 1 (0 once they are repaired).
import { spawnSync } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { runVerify } from '../../src/sink/verify-run.js';
import { TestPostgres } from '../support/postgres-server.js';

const ROWS = Number(process.env.SLUICE_VERIFY_ROWS ?? 200_000);
let pg: TestPostgres;
let raw: Record<string, unknown>;

beforeAll(async () => {
  pg = await TestPostgres.start();
  await pg.query('CREATE DATABASE newdb');
  await pg.query(`CREATE TABLE big (id int PRIMARY KEY, name char(12), amount numeric(12,2), ts timestamp, note text);
    INSERT INTO big SELECT g, 'N' || g, g * 0.25, timestamp '2024-01-01' + g * interval '1 second', CASE WHEN g % 7 = 0 THEN NULL ELSE 'x' END
    FROM generate_series(1, ${ROWS}) g;`);
  await pg.query(
    `CREATE TABLE things (id int PRIMARY KEY, label varchar(12), amount numeric(12,2), ts timestamp, note text);
    INSERT INTO things SELECT g, 'N' || g, g * 0.25, timestamp '2024-01-01' + g * interval '1 second', CASE WHEN g % 7 = 0 THEN NULL ELSE 'x' END
    FROM generate_series(1, ${ROWS}) g;
    UPDATE things SET amount = 1.26 WHERE id = 123457;
    DELETE FROM things WHERE id = 54321;
    INSERT INTO things VALUES (${ROWS + 5}, 'EXTRA', 1, NULL, NULL);`,
    [],
    'newdb',
  );
  raw = {
    nats: { servers: 'nats://127.0.0.1:1' },
    sources: [{ name: 'erp', kind: 'postgres', url: pg.url(), tables: ['public.big'] }],
    sinks: [
      {
        name: 'newdb',
        url: pg.url('newdb'),
        from: 'erp',
        tables: { 'public.big': { table: 'things', columns: { name: 'label' } } },
      },
    ],
  };
}, 120_000);

afterAll(async () => {
  await pg?.stop();
});

test(
  `verify names a changed, a missing and an extra row among ${ROWS} by chunk checksums`,
  { timeout: 120_000 },
  async () => {
    const progress: number[] = [];
    const report = await runVerify(parseConfig(raw), 'erp', 'newdb', {
      chunkSize: 10_000,
      leafSize: 256,
      waitMs: 0,
      streamSeq: async () => null,
      onProgress: (_t, done) => progress.push(done),
    });
    expect(report.equal).toBe(false);
    const t = report.tables[0]!;
    expect(t).toMatchObject({
      table: 'public.big',
      target: 'things',
      mode: 'checksum',
      sourceRows: ROWS,
      targetRows: ROWS,
    });
    expect(t.chunks).toBe(ROWS / 10_000 + 1);
    const diffs = t.differences.map((d) => ({ kind: d.kind, key: d.key, columns: d.columns }));
    expect(diffs).toEqual(
      expect.arrayContaining([
        { kind: 'changed', key: { id: 123457 }, columns: ['amount'] },
        { kind: 'missing', key: { id: 54321 }, columns: undefined },
        { kind: 'extra', key: { id: ROWS + 5 }, columns: undefined },
      ]),
    );
    expect(diffs).toHaveLength(3);
    expect(progress.at(-1)).toBe(ROWS);
    console.log(
      `verify: ${ROWS} rows in ${report.durationMs} ms (${Math.round(ROWS / (report.durationMs / 1000))} rows/s)`,
    );
  },
);

test(
  'the command: readable report, --json, exit 1 while they differ and 0 once equal',
  { timeout: 120_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-verify-'));
    const file = join(dir, 'sluice.yaml');
    await writeFile(file, JSON.stringify(raw));
    const root = resolve(import.meta.dirname, '../..');
    const run = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ['--import', 'tsx', 'src/cli/main.ts', 'verify', 'erp', 'newdb', '-c', file, ...args],
        {
          cwd: root,
          encoding: 'utf8',
        },
      );
    const text = run();
    expect(text.status).toBe(1);
    expect(text.stdout).toMatch(/DIFFERENT/);
    expect(text.stdout).toMatch(/id=123457: changed: amount "30864.25" ≠ "1.26"/);
    expect(text.stdout).toMatch(/id=54321: missing in the target/);
    expect(text.stdout).toMatch(new RegExp(`id=${ROWS + 5}: extra in the target`));
    const json = JSON.parse(run('--json').stdout) as { equal: boolean; tables: { differences: unknown[] }[] };
    expect(json.equal).toBe(false);
    expect(json.tables[0]!.differences).toHaveLength(3);

    await pg.query(
      `UPDATE things SET amount = 30864.25 WHERE id = 123457;
     INSERT INTO things VALUES (54321, 'N54321', 13580.25, timestamp '2024-01-01' + 54321 * interval '1 second', 'x');
     DELETE FROM things WHERE id = ${ROWS + 5};`,
      [],
      'newdb',
    );
    const equal = run();
    expect(equal.stdout).toMatch(/EQUAL/);
    expect(equal.status).toBe(0);
  },
);
