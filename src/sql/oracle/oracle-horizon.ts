// Oracle's commit-visibility horizon (see src/sql/horizon.ts).
import type { HorizonSql } from '../horizon.js';

export const oracleHorizon: HorizonSql = {
  markSql: `SELECT TO_CHAR(current_scn) AS "at" FROM v$database`,
  passedSql: () =>
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM v$transaction WHERE start_scn <= TO_NUMBER(?)) THEN 0 ELSE 1 END AS "ok" FROM dual`,
  binds: (at) => [at],
  privilegeHint: 'SELECT on v$transaction',
};
