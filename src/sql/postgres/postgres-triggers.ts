// PostgreSQL changelog table and capture triggers (see src/sql/trigger-ddl.ts).
import { dq, lit } from '../quote.js';
import { triggerName, type TriggerDdl } from '../trigger-ddl.js';

export const postgresTriggerDdl: TriggerDdl = {
  transactional: true,
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
