// conflicts `newerWins` needs to know when a target row last changed: a `changedAt` column per
// table, or the target's own commit timestamps. Checked when the sink starts, so a setup that
// cannot decide fails with the reason instead of resolving every conflict as sourceWins.
import type { Knex } from 'knex';
import type { SinkConfig } from '../config/sinks.js';
import { ConfigError } from '../core/errors.js';
import type { SqlDialect } from '../sql/sql-dialect.js';

export async function checkConflictPolicy(knex: Knex, dialect: SqlDialect, cfg: SinkConfig): Promise<void> {
  if (!cfg.twoWay || cfg.conflicts !== 'newerWins') return;
  const tables = Object.entries(cfg.tables);
  const without = tables.filter(([, t]) => t.changedAt === undefined).map(([source]) => source);
  if (tables.length > 0 && without.length === 0) return;
  const why = dialect.rowCommitTime
    ? await dialect.rowCommitTime.check(knex)
    : `${dialect.name} keeps no commit time per row`;
  if (why === null) return;
  throw new ConfigError(
    `sink ${cfg.name}: conflicts newerWins needs \`changedAt\` (a target column with the row's last-change time) on ${
      without.length > 0 ? without.join(', ') : 'every table'
    }, or the target's commit timestamps: ${why}`,
  );
}
