// What `sluice migrate` installs for a source: each table's columns, types and key, read from the
// database, and the changelog's schema-qualified name.
import type { ChangelogName, TriggerPlan } from '../../src/sql/trigger-ddl.js';
import type { SqlSession } from '../../src/sql/sql-session.js';
import { tableOf, type TriggersSourceConfig } from './config.js';

/** The changelog's schema and name: as configured (`schema.table`), else in the connection's default schema. */
export async function changelogName(s: SqlSession, cfg: TriggersSourceConfig): Promise<ChangelogName> {
  const knex = await s.open();
  const dot = cfg.changelog.indexOf('.');
  if (dot > 0) return { schema: cfg.changelog.slice(0, dot), name: cfg.changelog.slice(dot + 1) };
  return { schema: await s.dialect.triggers.defaultSchema(knex), name: cfg.changelog };
}

export async function triggerPlan(
  s: SqlSession,
  cfg: TriggersSourceConfig,
  withColumns = true,
): Promise<TriggerPlan> {
  await s.open();
  const tables = [];
  for (const raw of cfg.tables) {
    const t = tableOf(raw);
    const { schema, name } = s.split(t.table);
    const key = await s.keyOf(t.table, t.key);
    const cols = withColumns ? await s.columnsOf(t.table) : [];
    tables.push({
      qualified: t.table,
      schema,
      name,
      key,
      columns: cols.map((c) => c.name),
      types: Object.fromEntries(cols.map((c) => [c.name, c.type])),
    });
  }
  return { ddl: s.dialect.triggers, changelog: await changelogName(s, cfg), tables };
}
