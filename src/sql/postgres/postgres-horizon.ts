// PostgreSQL's commit-visibility horizon (see src/sql/horizon.ts).
import type { HorizonSql } from '../horizon.js';

export const postgresHorizon: HorizonSql = {
  markSql: `SELECT json_build_object('x', pg_snapshot_xmax(pg_current_snapshot())::text, 't', clock_timestamp())::text AS at`,
  passedSql: (strict) =>
    `SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::numeric >= (?::json->>'x')::numeric)` +
    (strict
      ? ` AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND xact_start <= (?::json->>'t')::timestamptz)`
      : '') +
    ` AS ok`,
  binds: (at, strict) => (strict ? [at, at] : [at]),
  privilegeHint: null,
};
