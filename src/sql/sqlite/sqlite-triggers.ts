// SQLite changelog table, capture triggers and changelog reading (see src/sql/trigger-ddl.ts).
// A trigger may not name a schema in its body: it fires in its table's database file, and the
// changelog lives in that same file (`main` unless configured otherwise).
import { plain } from '../changelog-values.js';
import { rawRows } from '../raw-rows.js';
import { dq, lit } from '../quote.js';
import { jsonPairs, triggerName, type ChangelogName, type TriggerCapture } from '../trigger-ddl.js';

const BLOB = 'sluice_blob';

/** A BLOB as the trigger wrote it: {"sluice_blob": "<hex>"} → base64, as the other sources send binary. */
function blobValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const keys = Object.keys(v);
  const hex = (v as Record<string, unknown>)[BLOB];
  return keys.length === 1 && typeof hex === 'string'
    ? Buffer.from(hex, 'hex').toString('base64')
    : undefined;
}

const qn = (cl: ChangelogName) => `${dq(cl.schema)}.${dq(cl.name)}`;

export const sqliteTriggerCapture: TriggerCapture = {
  transactional: true,
  // One writer at a time: seq order is commit order.
  order: 'seq',
  createChangelog: (cl) => [
    `CREATE TABLE ${qn(cl)} (seq INTEGER PRIMARY KEY AUTOINCREMENT, txid INTEGER, tbl TEXT NOT NULL, op TEXT NOT NULL, row_key TEXT NOT NULL, old_row TEXT, new_row TEXT, at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))`,
  ],
  dropChangelog: (cl) => [`DROP TABLE IF EXISTS ${qn(cl)}`],
  createTriggers: (cl, t) => {
    // json_object refuses a BLOB ("JSON cannot hold BLOB values"), which would fail the
    // application's own write: a BLOB goes in as {"sluice_blob": "<hex>"} (decoded by value()).
    const blobSafe = (ref: string) =>
      `CASE WHEN typeof(${ref}) = 'blob' THEN json_object('${BLOB}', hex(${ref})) ELSE ${ref} END`;
    const nw = (c: string) => blobSafe(`NEW.${dq(c)}`);
    const od = (c: string) => blobSafe(`OLD.${dq(c)}`);
    const on = `${dq(t.schema)}.${dq(triggerName(t, '_%s'))} AFTER %e ON ${dq(t.name)}`;
    const ins = (op: string, key: string, o: string, n: string) =>
      `INSERT INTO ${dq(cl.name)} (tbl, op, row_key, old_row, new_row) VALUES (${lit(t.qualified)}, '${op}', ${key}, ${o}, ${n})`;
    return [
      `CREATE TRIGGER ${on.replace('%s', 'i').replace('%e', 'INSERT')} BEGIN ${ins('c', jsonPairs(t.key, nw, 'json_object'), 'NULL', jsonPairs(t.columns, nw, 'json_object'))}; END`,
      `CREATE TRIGGER ${on.replace('%s', 'u').replace('%e', 'UPDATE')} BEGIN ${ins('u', jsonPairs(t.key, nw, 'json_object'), jsonPairs(t.columns, od, 'json_object'), jsonPairs(t.columns, nw, 'json_object'))}; END`,
      `CREATE TRIGGER ${on.replace('%s', 'd').replace('%e', 'DELETE')} BEGIN ${ins('d', jsonPairs(t.key, od, 'json_object'), jsonPairs(t.columns, od, 'json_object'), 'NULL')}; END`,
    ];
  },
  dropTriggers: (t) =>
    ['i', 'u', 'd'].map((s) => `DROP TRIGGER IF EXISTS ${dq(t.schema)}.${dq(triggerName(t, `_${s}`))}`),

  defaultSchema: () => Promise.resolve('main'),
  async openReadView(knex) {
    // In rollback-journal mode a long read would block the application's writers: no view then.
    const mode = rawRows(await knex.raw('PRAGMA journal_mode'))[0]?.journal_mode;
    if (String(mode).toLowerCase() !== 'wal') return null;
    const trx = await knex.transaction();
    trx.executionPromise.catch(() => {});
    return trx;
  },
  async captureSeen(trx, changelog, c) {
    // One writer at a time: the snapshot sees every seq up to its max and none above, so the
    // cursor simply starts at that max.
    const m = rawRows(await trx.raw('SELECT MAX(seq) AS m FROM ??', [changelog]))[0]?.m;
    if (m !== null && m !== undefined && Number(m) > Number(c.last?.[0] ?? 0)) c.last = [Number(m)];
  },
  seenColumn: () => null,
  jsonText: (_knex, column) => column,
  // SQLite values have no declared precision to keep: json_object writes what the column holds.
  value: (_type, v) => (v === undefined ? null : (blobValue(v) ?? plain(v))),
};
