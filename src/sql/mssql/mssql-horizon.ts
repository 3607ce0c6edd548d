// SQL Server's commit-visibility horizon (see src/sql/horizon.ts).
import type { HorizonSql } from '../horizon.js';

export const mssqlHorizon: HorizonSql = {
  markSql: `SELECT CONVERT(varchar(33), SYSDATETIME(), 126) AS at`,
  passedSql: () =>
    `SELECT CASE WHEN EXISTS (SELECT 1 FROM sys.dm_tran_active_transactions a JOIN sys.dm_tran_session_transactions s ON a.transaction_id = s.transaction_id WHERE s.session_id <> @@SPID AND a.transaction_begin_time <= CONVERT(datetime2, ?, 126)) THEN 0 ELSE 1 END AS ok`,
  binds: (at) => [at],
  privilegeHint: 'VIEW SERVER STATE',
};
