// The knex migrations `sluice migrate <source>` runs for a `triggers` source: the changelog table,
// then the capture triggers on the configured tables. Built from a plan (tables, columns, keys)
// read at migrate time, as a knex MigrationSource listed in code.
import type { Knex } from 'knex';
import type { TriggerPlan } from '../../src/sql/trigger-ddl.js';

interface TriggerMigration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

async function run(knex: Knex, statements: readonly string[]): Promise<void> {
  for (const sql of statements) await knex.raw(sql);
}

export function triggerMigrations(plan: TriggerPlan): TriggerMigration[] {
  const { ddl } = plan;
  return [
    {
      name: '20250301000000_changelog',
      up: (k) => run(k, ddl.createChangelog(plan.changelog)),
      down: (k) => run(k, ddl.dropChangelog(plan.changelog)),
    },
    {
      name: '20250301000001_triggers',
      up: (k) =>
        run(
          k,
          plan.tables.flatMap((t) => ddl.createTriggers(plan.changelog, t)),
        ),
      down: (k) =>
        run(
          k,
          plan.tables.flatMap((t) => ddl.dropTriggers(t)),
        ),
    },
  ];
}

export function triggerMigrationSource(plan: TriggerPlan): Knex.MigrationSource<TriggerMigration> {
  const all = triggerMigrations(plan);
  return {
    getMigrations: async () => [...all],
    getMigrationName: (m) => m.name,
    getMigration: async (m) => m,
  };
}

/** knex bookkeeping table of one changelog's migrations (removed again by --down), e.g. sluice_changelog_migrations. */
export const triggerMigrationTable = (changelog: string) => `${changelog}_migrations`;

/** Installs (or with `down`, removes) the changelog and triggers, then with `down` knex's own bookkeeping too. */
export async function migrateTriggers(knex: Knex, plan: TriggerPlan, down: boolean): Promise<string[]> {
  const config: Knex.MigratorConfig = {
    migrationSource: triggerMigrationSource(plan),
    tableName: triggerMigrationTable(plan.changelog.name),
    // knex's bookkeeping sits beside the changelog, in its schema.
    schemaName: plan.changelog.schema,
    // MySQL commits DDL implicitly and SQL Server wants CREATE TRIGGER alone: no wrapping transaction.
    disableTransactions: !plan.ddl.transactional,
  };
  if (!down) {
    const [, names] = (await knex.migrate.latest(config)) as [number, string[]];
    return names;
  }
  const [, names] = (await knex.migrate.rollback(config, true)) as [number, string[]];
  const bookkeeping = knex.schema.withSchema(plan.changelog.schema);
  await bookkeeping.dropTableIfExists(`${triggerMigrationTable(plan.changelog.name)}_lock`);
  await knex.schema.withSchema(plan.changelog.schema).dropTableIfExists(triggerMigrationTable(plan.changelog.name));
  return names;
}
