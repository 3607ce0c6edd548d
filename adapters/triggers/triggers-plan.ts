// What `sluice migrate` installs for a source: each table's columns and key, read from the database.
import type { TriggerPlan } from '../../src/sql/trigger-ddl.js';
import type { SqlSession } from '../../src/sql/sql-session.js';
import { tableOf, type TriggersSourceConfig } from './config.js';

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
    const columns = withColumns ? (await s.columnsOf(t.table)).map((c) => c.name) : [];
    tables.push({ qualified: t.table, schema, name, key, columns });
  }
  return { ddl: s.dialect.triggers, changelog: cfg.changelog, tables };
}
