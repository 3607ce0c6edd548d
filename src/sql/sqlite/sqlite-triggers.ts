// SQLite changelog table and capture triggers (see src/sql/trigger-ddl.ts).
import { dq, lit } from '../quote.js';
import { jsonPairs, triggerName, type TriggerDdl } from '../trigger-ddl.js';

export const sqliteTriggerDdl: TriggerDdl = {
  transactional: true,
  createChangelog: (cl) => [
    `CREATE TABLE ${dq(cl)} (seq INTEGER PRIMARY KEY AUTOINCREMENT, txid INTEGER, tbl TEXT NOT NULL, op TEXT NOT NULL, row_key TEXT NOT NULL, old_row TEXT, new_row TEXT, at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`,
  ],
  dropChangelog: (cl) => [`DROP TABLE IF EXISTS ${dq(cl)}`],
  createTriggers: (cl, t) => {
    const nw = (c: string) => `NEW.${dq(c)}`;
    const od = (c: string) => `OLD.${dq(c)}`;
    const on = `${dq(t.schema)}.${dq(triggerName(t, '_%s'))} AFTER %e ON ${dq(t.name)}`;
    const ins = (op: string, key: string, o: string, n: string) =>
      `INSERT INTO ${dq(cl)} (tbl, op, row_key, old_row, new_row) VALUES (${lit(t.qualified)}, '${op}', ${key}, ${o}, ${n})`;
    return [
      `CREATE TRIGGER ${on.replace('%s', 'i').replace('%e', 'INSERT')} BEGIN ${ins('c', jsonPairs(t.key, nw, 'json_object'), 'NULL', jsonPairs(t.columns, nw, 'json_object'))}; END`,
      `CREATE TRIGGER ${on.replace('%s', 'u').replace('%e', 'UPDATE')} BEGIN ${ins('u', jsonPairs(t.key, nw, 'json_object'), jsonPairs(t.columns, od, 'json_object'), jsonPairs(t.columns, nw, 'json_object'))}; END`,
      `CREATE TRIGGER ${on.replace('%s', 'd').replace('%e', 'DELETE')} BEGIN ${ins('d', jsonPairs(t.key, od, 'json_object'), jsonPairs(t.columns, od, 'json_object'), 'NULL')}; END`,
    ];
  },
  dropTriggers: (t) =>
    ['i', 'u', 'd'].map((s) => `DROP TRIGGER IF EXISTS ${dq(t.schema)}.${dq(triggerName(t, `_${s}`))}`),
};
