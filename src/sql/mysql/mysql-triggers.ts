// MySQL/MariaDB changelog table, capture triggers and changelog reading (see src/sql/trigger-ddl.ts).
import { digits, epochIso, float, int64, localIso, plain } from '../changelog-values.js';
import { rawRows } from '../raw-rows.js';
import { bq, lit } from '../quote.js';
import {
  addToRanges,
  jsonPairs,
  triggerName,
  type ChangelogName,
  type TriggerCapture,
} from '../trigger-ddl.js';

const qn = (cl: ChangelogName) => `${bq(cl.schema)}.${bq(cl.name)}`;
const binary = /^(binary|varbinary|tinyblob|blob|mediumblob|longblob|bit)$/;

export const mysqlTriggerCapture: TriggerCapture = {
  transactional: false,
  // The AUTO_INCREMENT seq is drawn by the trigger's single-row INSERT, after the row change took
  // its row lock: two writers of one key draw seqs in commit order in every innodb_autoinc_lock_mode
  // (a single-row INSERT ... VALUES is a "simple insert": one value, drawn at that moment).
  order: 'seq',
  createChangelog: (cl) => [
    `CREATE TABLE ${qn(cl)} (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, txid BIGINT NULL, tbl VARCHAR(255) NOT NULL, op CHAR(1) NOT NULL, row_key LONGTEXT NOT NULL, old_row LONGTEXT NULL, new_row LONGTEXT NULL, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ],
  dropChangelog: (cl) => [`DROP TABLE IF EXISTS ${qn(cl)}`],
  createTriggers: (cl, t) => {
    // Binary as base64 (JSON text cannot hold arbitrary bytes); TIMESTAMP as exact epoch seconds
    // (JSON_OBJECT would print it in the writer's session time zone).
    const ref = (side: string) => (c: string) => {
      const type = t.types?.[c] ?? '';
      const col = `${side}.${bq(c)}`;
      if (binary.test(type)) return `REPLACE(TO_BASE64(${col}), CHAR(10), '')`;
      if (type === 'timestamp') return `UNIX_TIMESTAMP(${col})`;
      return col;
    };
    const nw = ref('NEW');
    const od = ref('OLD');
    const tbl = `${bq(t.schema)}.${bq(t.name)}`;
    const ins = (op: string, key: string, o: string, n: string) =>
      `INSERT INTO ${qn(cl)} (tbl, op, row_key, old_row, new_row) VALUES (${lit(t.qualified)}, '${op}', ${key}, ${o}, ${n})`;
    return [
      `CREATE TRIGGER ${bq(t.schema)}.${bq(triggerName(t, '_i'))} AFTER INSERT ON ${tbl} FOR EACH ROW ${ins('c', jsonPairs(t.key, nw, 'JSON_OBJECT'), 'NULL', jsonPairs(t.columns, nw, 'JSON_OBJECT'))}`,
      `CREATE TRIGGER ${bq(t.schema)}.${bq(triggerName(t, '_u'))} AFTER UPDATE ON ${tbl} FOR EACH ROW ${ins('u', jsonPairs(t.key, nw, 'JSON_OBJECT'), jsonPairs(t.columns, od, 'JSON_OBJECT'), jsonPairs(t.columns, nw, 'JSON_OBJECT'))}`,
      `CREATE TRIGGER ${bq(t.schema)}.${bq(triggerName(t, '_d'))} AFTER DELETE ON ${tbl} FOR EACH ROW ${ins('d', jsonPairs(t.key, od, 'JSON_OBJECT'), jsonPairs(t.columns, od, 'JSON_OBJECT'), 'NULL')}`,
    ];
  },
  dropTriggers: (t) =>
    ['i', 'u', 'd'].map((s) => `DROP TRIGGER IF EXISTS ${bq(t.schema)}.${bq(triggerName(t, `_${s}`))}`),

  async defaultSchema(knex) {
    const db = rawRows(await knex.raw('SELECT DATABASE() AS d'))[0]?.d;
    if (typeof db !== 'string' || db === '')
      throw new Error('the URL names no database: set changelog: <database>.<table>');
    return db;
  },
  async openReadView(knex) {
    const trx = await knex.transaction();
    trx.executionPromise.catch(() => {});
    // knex has sent BEGIN (its READ ONLY lacks the comma MySQL wants); characteristics cannot
    // change inside a transaction, so end that empty one and start the one we want.
    await trx.raw('COMMIT');
    await trx.raw('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await trx.raw('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    return trx;
  },
  async captureSeen(trx, changelog, c) {
    // The seqs visible above the cursor, as ranges. A seq is drawn at insert, not at commit: a
    // missing seq below the visible max may still commit, and is then read, not skipped.
    const ranges: [number, number][] = [];
    let after = Number(c.last?.[0] ?? 0);
    for (;;) {
      const rows = (await trx(changelog)
        .select('seq')
        .where('seq', '>', after)
        .orderBy('seq')
        .limit(10_000)) as { seq: unknown }[];
      for (const r of rows) addToRanges(ranges, Number(r.seq));
      if (rows.length < 10_000) break;
      after = Number(rows[rows.length - 1]!.seq);
    }
    if (ranges.length > 0) c.seen = { ranges };
  },
  seenColumn: () => null,
  jsonText: (_knex, column) => column,
  value(type, v) {
    if (v === null || v === undefined) return null;
    switch (type) {
      case 'decimal':
        return digits(v);
      case 'bigint':
        return int64(v);
      case 'float':
      case 'double':
        return float(v);
      case 'timestamp':
        return epochIso(v);
      case 'datetime':
        return localIso(v);
      default:
        return plain(v);
    }
  },
};
