// SQL Server changelog table, capture triggers and changelog reading (see src/sql/trigger-ddl.ts).
import { digits, int64, plain } from '../changelog-values.js';
import { rawRows } from '../raw-rows.js';
import { br, lit } from '../quote.js';
import { noReadView, triggerName, type ChangelogName, type TriggerCapture } from '../trigger-ddl.js';

const qn = (cl: ChangelogName) => `${br(cl.schema)}.${br(cl.name)}`;

export const mssqlTriggerCapture: TriggerCapture = {
  transactional: false,
  order: 'rowversion',
  createChangelog: (cl) => [
    `CREATE TABLE ${qn(cl)} (seq bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, rv rowversion NOT NULL, txid bigint NULL, tbl nvarchar(255) NOT NULL, op char(1) NOT NULL, row_key nvarchar(max) NOT NULL, old_row nvarchar(max) NULL, new_row nvarchar(max) NULL, at datetime2 NOT NULL DEFAULT SYSUTCDATETIME())`,
    `CREATE INDEX ${br(`${cl.name}_rv`)} ON ${qn(cl)} (rv)`,
  ],
  dropChangelog: (cl) => [`DROP TABLE IF EXISTS ${qn(cl)}`],
  createTriggers: (cl, t) => {
    const on = t.key.map((k) => `i.${br(k)} = d.${br(k)}`).join(' AND ');
    const keyJson = `(SELECT ${t.key.map((k) => `COALESCE(i.${br(k)}, d.${br(k)}) AS ${br(k)}`).join(', ')} FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES)`;
    const rowJson = (a: string) =>
      `CASE WHEN ${a}.${br(t.key[0]!)} IS NULL THEN NULL ELSE (SELECT ${t.columns.map((c) => `${a}.${br(c)} AS ${br(c)}`).join(', ')} FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES) END`;
    return [
      `CREATE TRIGGER ${br(t.schema)}.${br(triggerName(t))} ON ${br(t.schema)}.${br(t.name)} AFTER INSERT, UPDATE, DELETE AS
BEGIN
  SET NOCOUNT ON;
  INSERT INTO ${qn(cl)} (txid, tbl, op, row_key, old_row, new_row)
  SELECT CURRENT_TRANSACTION_ID(), ${lit(t.qualified)},
    CASE WHEN d.${br(t.key[0]!)} IS NULL THEN 'c' WHEN i.${br(t.key[0]!)} IS NULL THEN 'd' ELSE 'u' END,
    ${keyJson}, ${rowJson('d')}, ${rowJson('i')}
  FROM inserted i FULL OUTER JOIN deleted d ON ${on};
END`,
    ];
  },
  dropTriggers: (t) => [`DROP TRIGGER IF EXISTS ${br(t.schema)}.${br(triggerName(t))}`],

  async defaultSchema(knex) {
    const s = rawRows(await knex.raw('SELECT SCHEMA_NAME() AS s'))[0]?.s;
    return typeof s === 'string' && s !== '' ? s : 'dbo';
  },
  ...noReadView,
  jsonText: (_knex, column) => column,
  value(type, v) {
    if (v === null || v === undefined) return null;
    if (type === 'decimal' || type === 'numeric' || type === 'money' || type === 'smallmoney')
      return digits(v);
    if (type === 'bigint') return int64(v);
    return plain(v);
  },
};
