// Oracle changelog table, capture triggers and changelog reading (see src/sql/trigger-ddl.ts).
import { digits, plain } from '../changelog-values.js';
import { rawRows } from '../raw-rows.js';
import { dq, lit } from '../quote.js';
import { noReadView, triggerName, type ChangelogName, type TriggerCapture } from '../trigger-ddl.js';

const qn = (cl: ChangelogName) => `${dq(cl.schema)}.${dq(cl.name)}`;

export const oracleTriggerCapture: TriggerCapture = {
  transactional: false,
  order: 'rowscn',
  createChangelog: (cl) => [
    // ROWDEPENDENCIES: ORA_ROWSCN per row, not per block (Oracle: "ROWDEPENDENCIES" in CREATE TABLE).
    `CREATE TABLE ${qn(cl)} (seq NUMBER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, txid VARCHAR2(64), tbl VARCHAR2(255) NOT NULL, op CHAR(1) NOT NULL, row_key CLOB NOT NULL, old_row CLOB, new_row CLOB, at TIMESTAMP DEFAULT SYSTIMESTAMP NOT NULL) ROWDEPENDENCIES`,
  ],
  dropChangelog: (cl) => [`DROP TABLE ${qn(cl)} PURGE`],
  createTriggers: (cl, t) => {
    const obj = (cols: readonly string[], ref: string) =>
      `JSON_OBJECT(${cols.map((c) => `${lit(c)} VALUE ${ref}.${dq(c)}`).join(', ')} NULL ON NULL RETURNING CLOB)`;
    return [
      `CREATE OR REPLACE TRIGGER ${dq(t.schema)}.${dq(triggerName(t))} AFTER INSERT OR UPDATE OR DELETE ON ${dq(t.schema)}.${dq(t.name)} FOR EACH ROW
DECLARE
  v_op CHAR(1);
  v_key CLOB;
  v_old CLOB;
  v_new CLOB;
BEGIN
  IF INSERTING THEN v_op := 'c'; ELSIF UPDATING THEN v_op := 'u'; ELSE v_op := 'd'; END IF;
  IF v_op <> 'c' THEN SELECT ${obj(t.columns, ':OLD')} INTO v_old FROM dual; END IF;
  IF v_op <> 'd' THEN SELECT ${obj(t.columns, ':NEW')} INTO v_new FROM dual; END IF;
  IF v_op = 'd' THEN SELECT ${obj(t.key, ':OLD')} INTO v_key FROM dual;
  ELSE SELECT ${obj(t.key, ':NEW')} INTO v_key FROM dual; END IF;
  INSERT INTO ${qn(cl)} (txid, tbl, op, row_key, old_row, new_row)
  VALUES (DBMS_TRANSACTION.LOCAL_TRANSACTION_ID, ${lit(t.qualified)}, v_op, v_key, v_old, v_new);
END;`,
    ];
  },
  dropTriggers: (t) => [`DROP TRIGGER ${dq(t.schema)}.${dq(triggerName(t))}`],

  async defaultSchema(knex) {
    const r = rawRows(await knex.raw(`SELECT SYS_CONTEXT('USERENV', 'CURRENT_SCHEMA') AS "s" FROM dual`))[0];
    if (typeof r?.s !== 'string')
      throw new Error('CURRENT_SCHEMA is unknown: set changelog: <schema>.<table>');
    return r.s;
  },
  ...noReadView,
  jsonText: (_knex, column) => column,
  value(type, v) {
    if (v === null || v === undefined) return null;
    // NUMBER keeps its digits as text (the polling source reads it as a string too).
    if (type === 'number') return digits(v);
    return plain(v);
  },
};
