// `sluice migrate` and `--down` leave the user's tables exactly as they were (catalog compared),
// on SQLite, PostgreSQL and MariaDB.
import { afterAll, describe, expect, test } from 'vitest';
import { migrateSource } from '../../adapters/triggers/triggers-migrate.js';
import { parseConfig } from '../../src/config/load.js';
import { quietLog } from '../support/harness.js';
import { skipReason, startDb, type Db, type DbKind } from '../contract/contract-targets.js';

const catalog: Record<string, (db: Db) => Promise<unknown>> = {
  sqlite: async (db) =>
    await db.knex.raw(
      `SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name`,
    ),
  postgres: async (db) =>
    (
      await db.knex.raw(`SELECT c.relname, c.relkind, a.attname, a.atttypid::regtype::text AS t, a.attnotnull,
        (SELECT count(*) FROM pg_trigger g WHERE g.tgrelid = c.oid) AS triggers,
        (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = n.oid) AS functions
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
        WHERE n.nspname = 'public' ORDER BY 1, 3`)
    ).rows,
  mariadb: async (db) => [
    (
      await db.knex.raw(
        `SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2`,
      )
    )[0],
    (
      await db.knex.raw(
        `SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()`,
      )
    )[0],
  ],
};

for (const kind of ['sqlite', 'postgres', 'mariadb'] as DbKind[]) {
  const skip = skipReason(kind);
  describe.skipIf(skip !== undefined)(`sluice migrate on ${kind}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    let db: Db | undefined;
    afterAll(async () => db?.stop());

    test('installs a changelog and triggers, and --down leaves the catalog as it was', async () => {
      db = await startDb(kind);
      const t = db.qualified('orders');
      const [schema, name] = t.split('.') as [string, string];
      await db.knex.schema.withSchema(schema).createTable(name, (tb) => {
        tb.integer('id').primary();
        tb.string('note', 20);
      });
      const before = await catalog[kind]!(db);
      const cfg = parseConfig({ sources: [{ name: 'legacy', kind: 'triggers', url: db.url, tables: [t] }] })
        .sources[0]!;
      if (cfg.kind !== 'triggers') throw new Error('unreachable');
      expect(await migrateSource(cfg, quietLog, false)).toEqual([
        '20250301000000_changelog',
        '20250301000001_triggers',
      ]);
      expect(await migrateSource(cfg, quietLog, false)).toEqual([]);
      await db.knex(t).insert({ id: 1, note: 'x' });
      await db.knex(t).where({ id: 1 }).update({ note: 'y' });
      await db.knex(t).where({ id: 1 }).delete();
      const log = (await db.knex('sluice_changelog').select('op', 'row_key').orderBy('seq')) as {
        op: string;
        row_key: unknown;
      }[];
      expect(log.map((r) => r.op.trim())).toEqual(['c', 'u', 'd']);
      expect(await catalog[kind]!(db)).not.toEqual(before);
      await migrateSource(cfg, quietLog, true);
      expect(await catalog[kind]!(db)).toEqual(before);
    });
  });
}
