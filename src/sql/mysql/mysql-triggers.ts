// MySQL/MariaDB changelog table and capture triggers (see src/sql/trigger-ddl.ts).
import { bq, lit } from '../quote.js';
import { jsonPairs, triggerName, type TriggerDdl } from '../trigger-ddl.js';

export const mysqlTriggerDdl: TriggerDdl = {
  transactional: false,
  createChangelog: (cl) => [
    `CREATE TABLE ${bq(cl)} (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, txid BIGINT NULL, tbl VARCHAR(255) NOT NULL, op CHAR(1) NOT NULL, row_key LONGTEXT NOT NULL, old_row LONGTEXT NULL, new_row LONGTEXT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB`,
  ],
  dropChangelog: (cl) => [`DROP TABLE IF EXISTS ${bq(cl)}`],
  createTriggers: (cl, t) => {
    const nw = (c: string) => `NEW.${bq(c)}`;
    const od = (c: string) => `OLD.${bq(c)}`;
    const tbl = `${bq(t.schema)}.${bq(t.name)}`;
    const ins = (op: string, key: string, o: string, n: string) =>
      `INSERT INTO ${bq(t.schema)}.${bq(cl)} (tbl, op, row_key, old_row, new_row) VALUES (${lit(t.qualified)}, '${op}', ${key}, ${o}, ${n})`;
    return [
      `CREATE TRIGGER ${bq(t.schema)}.${bq(triggerName(t, '_i'))} AFTER INSERT ON ${tbl} FOR EACH ROW ${ins('c', jsonPairs(t.key, nw, 'JSON_OBJECT'), 'NULL', jsonPairs(t.columns, nw, 'JSON_OBJECT'))}`,
      `CREATE TRIGGER ${bq(t.schema)}.${bq(triggerName(t, '_u'))} AFTER UPDATE ON ${tbl} FOR EACH ROW ${ins('u', jsonPairs(t.key, nw, 'JSON_OBJECT'), jsonPairs(t.columns, od, 'JSON_OBJECT'), jsonPairs(t.columns, nw, 'JSON_OBJECT'))}`,
      `CREATE TRIGGER ${bq(t.schema)}.${bq(triggerName(t, '_d'))} AFTER DELETE ON ${tbl} FOR EACH ROW ${ins('d', jsonPairs(t.key, od, 'JSON_OBJECT'), jsonPairs(t.columns, od, 'JSON_OBJECT'), 'NULL')}`,
    ];
  },
  dropTriggers: (t) =>
    ['i', 'u', 'd'].map((s) => `DROP TRIGGER IF EXISTS ${bq(t.schema)}.${bq(triggerName(t, `_${s}`))}`),
};
