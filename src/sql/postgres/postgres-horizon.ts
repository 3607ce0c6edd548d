// PostgreSQL's commit-visibility horizon (see src/sql/horizon.ts).
import type { HorizonSql } from '../horizon.js';

export const postgresHorizon: HorizonSql = {
  // A fresh xid, not pg_snapshot_xmax: a snapshot's xmax is latestCompletedXid + 1, so a running
  // transaction with a larger xid (assigned, still open) lies at or above it and xmin would pass
  // the mark while that transaction could still commit values below what was read (found by
  // test/integration/triggers-order-stress.test.ts). Every xid assigned before the mark is smaller
  // than this one. It costs one xid per mark, taken only when new values were read.
  markSql: `SELECT json_build_object('x', pg_current_xact_id()::text, 't', clock_timestamp())::text AS at`,
  passedSql: (strict) =>
    `SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::numeric >= (?::json->>'x')::numeric)` +
    (strict
      ? ` AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND xact_start <= (?::json->>'t')::timestamptz)`
      : '') +
    ` AS ok`,
  binds: (at, strict) => (strict ? [at, at] : [at]),
  privilegeHint: null,
};
