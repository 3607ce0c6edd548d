// `sluice migrate <source> [--down]` for a triggers source.
import { migrateTriggers } from '../../migrations/triggers/index.js';
import type { Logger } from '../../src/core/source-adapter.js';
import { classifyTriggersError } from './triggers-errors.js';
import { SqlSession } from '../../src/sql/sql-session.js';
import type { TriggersSourceConfig } from './config.js';
import { triggerPlan } from './triggers-plan.js';

export async function migrateSource(
  cfg: TriggersSourceConfig,
  log: Logger,
  down: boolean,
): Promise<string[]> {
  const s = new SqlSession(cfg, 'triggers', log, classifyTriggersError);
  try {
    const knex = await s.open();
    return await migrateTriggers(knex, await triggerPlan(s, cfg), down);
  } finally {
    await s.close();
  }
}
