// MySQL/MariaDB's commit-visibility horizon (see src/sql/horizon.ts). The mark is the set of
// InnoDB transactions open at that moment (trx_id@thread), and the horizon has passed once none of
// them is open any more. No clock is compared: INNODB_TRX.trx_started is in the server's system
// time zone while NOW() is in the session's, and a source session runs in UTC, so a time mark
// would pass too early (losing late commits) on a server east of UTC and stall west of it.
// GROUP_CONCAT rather than JSON_ARRAYAGG: older MySQL and MariaDB servers have it too (the source
// session raises group_concat_max_len so a long list is never cut).
import type { HorizonSql } from '../horizon.js';

const openTransaction = `CONCAT(trx_id, '@', trx_mysql_thread_id)`;

export const mysqlHorizon: HorizonSql = {
  markSql: `SELECT COALESCE(GROUP_CONCAT(${openTransaction}), '') AS at FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id <> CONNECTION_ID()`,
  passedSql: () =>
    `SELECT NOT EXISTS (SELECT 1 FROM information_schema.INNODB_TRX WHERE FIND_IN_SET(${openTransaction}, ?) > 0) AS ok`,
  binds: (at) => [at],
  privilegeHint: 'PROCESS',
  // INNODB_TRX is a cache InnoDB refreshes only after 100 ms without a reader.
  minIntervalMs: 150,
};
