// The changelog table and capture triggers, per dialect (legacy-sources.md §5). Each builder
// returns plain SQL statements, one per knex.raw call (SQL Server wants CREATE TRIGGER alone in
// its batch), so unit tests can read exactly what would run on SQL Server and Oracle.
//
// Changelog row: seq, txid (where the database has one), tbl (schema.table), op (c/u/d),
// row_key / old_row / new_row as JSON, and an ordering value safe against commit order:
// PostgreSQL (txid xid8, seq) read below pg_snapshot_xmin; SQL Server a rowversion read below
// MIN_ACTIVE_ROWVERSION(); Oracle ORA_ROWSCN on a ROWDEPENDENCIES table; MySQL and SQLite seq
// behind the visibility horizon (see adapters/polling/polling-horizon.ts).

export interface CaptureTable {
  /** schema.table as configured. */
  readonly qualified: string;
  readonly schema: string;
  readonly name: string;
  readonly columns: readonly string[];
  readonly key: readonly string[];
}

export interface TriggerPlan {
  readonly dialect: string;
  readonly changelog: string;
  readonly tables: readonly CaptureTable[];
}

export interface Ddl {
  createChangelog(changelog: string): string[];
  dropChangelog(changelog: string): string[];
  createTriggers(changelog: string, t: CaptureTable): string[];
  dropTriggers(t: CaptureTable): string[];
}

const dq = (s: string) => `"${s.replace(/"/g, '""')}"`;
const bq = (s: string) => `\`${s.replace(/`/g, '``')}\``;
const br = (s: string) => `[${s.replace(/]/g, ']]')}]`;
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A trigger name per table, short enough for every database (Oracle: 128, PostgreSQL: 63, MySQL: 64). */
export function triggerName(t: CaptureTable, suffix = ''): string {
  const base = `sluice_cap_${t.name}`.replace(/[^A-Za-z0-9_]/g, '_').slice(0, 50);
  return `${base}${suffix}`;
}

const postgres: Ddl = {
  createChangelog: (cl) => [
    `CREATE TABLE ${dq(cl)} (seq bigserial PRIMARY KEY, txid xid8 NOT NULL DEFAULT pg_current_xact_id(), tbl text NOT NULL, op char(1) NOT NULL, row_key jsonb NOT NULL, old_row jsonb, new_row jsonb, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    `CREATE INDEX ${dq(`${cl}_order`)} ON ${dq(cl)} (txid, seq)`,
    `CREATE FUNCTION ${dq(`${cl}_capture`)}() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE o jsonb; n jsonb; k jsonb;
BEGIN
  IF TG_OP <> 'INSERT' THEN o := to_jsonb(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN n := to_jsonb(NEW); END IF;
  SELECT jsonb_object_agg(c, COALESCE(n, o) -> c) INTO k FROM unnest(TG_ARGV) AS c;
  INSERT INTO ${dq(cl)} (tbl, op, row_key, old_row, new_row)
  VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, CASE TG_OP WHEN 'INSERT' THEN 'c' WHEN 'UPDATE' THEN 'u' ELSE 'd' END, k, o, n);
  RETURN NULL;
END
$fn$`,
  ],
  dropChangelog: (cl) => [
    `DROP FUNCTION IF EXISTS ${dq(`${cl}_capture`)}()`,
    `DROP TABLE IF EXISTS ${dq(cl)}`,
  ],
  createTriggers: (cl, t) => [
    `CREATE TRIGGER ${dq(triggerName(t))} AFTER INSERT OR UPDATE OR DELETE ON ${dq(t.schema)}.${dq(t.name)} FOR EACH ROW EXECUTE FUNCTION ${dq(`${cl}_capture`)}(${t.key.map(lit).join(', ')})`,
  ],
  dropTriggers: (t) => [`DROP TRIGGER IF EXISTS ${dq(triggerName(t))} ON ${dq(t.schema)}.${dq(t.name)}`],
};

function jsonPairs(cols: readonly string[], ref: (c: string) => string, fn: string, sep = ', '): string {
  return `${fn}(${cols.map((c) => `${lit(c)}${sep}${ref(c)}`).join(', ')})`;
}

const sqlite: Ddl = {
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

const mysql: Ddl = {
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

const mssql: Ddl = {
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

const oracle: Ddl = {
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

export const ddlFor: Record<string, Ddl> = { postgres, sqlite, mysql, mssql, oracle };
