// SQL Server changelog table and capture triggers (see src/sql/trigger-ddl.ts).
import { br, lit } from '../quote.js';
import { triggerName, type TriggerDdl } from '../trigger-ddl.js';

export const mssqlTriggerDdl: TriggerDdl = {
  transactional: false,
  createChangelog: (cl) => [
    `CREATE TABLE ${br(cl)} (seq bigint IDENTITY(1,1) NOT NULL PRIMARY KEY, rv rowversion NOT NULL, txid bigint NULL, tbl nvarchar(255) NOT NULL, op char(1) NOT NULL, row_key nvarchar(max) NOT NULL, old_row nvarchar(max) NULL, new_row nvarchar(max) NULL, at datetime2 NOT NULL DEFAULT SYSUTCDATETIME())`,
    `CREATE INDEX ${br(`${cl}_rv`)} ON ${br(cl)} (rv)`,
  ],
  dropChangelog: (cl) => [`DROP TABLE IF EXISTS ${br(cl)}`],
  createTriggers: (cl, t) => {
    const on = t.key.map((k) => `i.${br(k)} = d.${br(k)}`).join(' AND ');
    const keyJson = `(SELECT ${t.key.map((k) => `COALESCE(i.${br(k)}, d.${br(k)}) AS ${br(k)}`).join(', ')} FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES)`;
    const rowJson = (a: string) =>
      `CASE WHEN ${a}.${br(t.key[0]!)} IS NULL THEN NULL ELSE (SELECT ${t.columns.map((c) => `${a}.${br(c)} AS ${br(c)}`).join(', ')} FOR JSON PATH, WITHOUT_ARRAY_WRAPPER, INCLUDE_NULL_VALUES) END`;
    return [
      `CREATE TRIGGER ${br(t.schema)}.${br(triggerName(t))} ON ${br(t.schema)}.${br(t.name)} AFTER INSERT, UPDATE, DELETE AS
BEGIN
  SET NOCOUNT ON;
  INSERT INTO ${br(t.schema)}.${br(cl)} (txid, tbl, op, row_key, old_row, new_row)
  SELECT CURRENT_TRANSACTION_ID(), ${lit(t.qualified)},
    CASE WHEN d.${br(t.key[0]!)} IS NULL THEN 'c' WHEN i.${br(t.key[0]!)} IS NULL THEN 'd' ELSE 'u' END,
    ${keyJson}, ${rowJson('d')}, ${rowJson('i')}
  FROM inserted i FULL OUTER JOIN deleted d ON ${on};
END`,
    ];
  },
  dropTriggers: (t) => [`DROP TRIGGER IF EXISTS ${br(t.schema)}.${br(triggerName(t))}`],
};
