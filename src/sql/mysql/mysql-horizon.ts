// MySQL/MariaDB's commit-visibility horizon (see src/sql/horizon.ts).
import type { HorizonSql } from '../horizon.js';

export const mysqlHorizon: HorizonSql = {
  markSql: `SELECT DATE_FORMAT(NOW(6), '%Y-%m-%d %H:%i:%s.%f') AS at`,
  passedSql: () =>
    `SELECT NOT EXISTS (SELECT 1 FROM information_schema.INNODB_TRX WHERE trx_started <= ? AND trx_mysql_thread_id <> CONNECTION_ID()) AS ok`,
  binds: (at) => [at],
  privilegeHint: 'PROCESS',
};
