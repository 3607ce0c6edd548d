// Oracle changelog table and capture triggers (see src/sql/trigger-ddl.ts).
import { dq, lit } from '../quote.js';
import { triggerName, type TriggerDdl } from '../trigger-ddl.js';

export const oracleTriggerDdl: TriggerDdl = {
  transactional: false,
  createChangelog: (cl) => [
    // ROWDEPENDENCIES: ORA_ROWSCN per row, not per block (legacy-sources.md §2.3).
    `CREATE TABLE ${dq(cl)} (seq NUMBER GENERATED ALWAYS AS IDENTITY PRIMARY KEY, txid VARCHAR2(64), tbl VARCHAR2(255) NOT NULL, op CHAR(1) NOT NULL, row_key CLOB NOT NULL, old_row CLOB, new_row CLOB, at TIMESTAMP DEFAULT SYSTIMESTAMP NOT NULL) ROWDEPENDENCIES`,
  ],
  dropChangelog: (cl) => [`DROP TABLE ${dq(cl)} PURGE`],
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
  INSERT INTO ${dq(t.schema)}.${dq(cl)} (txid, tbl, op, row_key, old_row, new_row)
  VALUES (DBMS_TRANSACTION.LOCAL_TRANSACTION_ID, ${lit(t.qualified)}, v_op, v_key, v_old, v_new);
END;`,
    ];
  },
  dropTriggers: (t) => [`DROP TRIGGER ${dq(t.schema)}.${dq(triggerName(t))}`],
};
