// PostgreSQL changelog table, capture triggers and changelog reading (see src/sql/trigger-ddl.ts).
import { digits, float, int64, jsonNumbers, plain, utcIso } from '../changelog-values.js';
import { rawRows } from '../raw-rows.js';
import { dq, lit } from '../quote.js';
import { triggerName, type ChangelogName, type TriggerCapture } from '../trigger-ddl.js';

const qn = (cl: ChangelogName, name = cl.name) => `${dq(cl.schema)}.${dq(name)}`;
const fn = (cl: ChangelogName) => qn(cl, `${cl.name}_capture`);

/** money prints with the writer's lc_monetary symbol and separators: keep the sign, digits and point. */
export function moneyDigits(v: unknown): unknown {
  if (typeof v !== 'string') return digits(v);
  const negative = v.startsWith('-') || (v.startsWith('(') && v.endsWith(')'));
  const d = v.replace(/[^0-9.]/g, '');
  return negative ? `-${d}` : d;
}

/** to_jsonb(bytea) is its text output in the writer's bytea_output: hex (`\x..`) or escape. */
function bytea(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (v.startsWith('\\x')) return Buffer.from(v.slice(2), 'hex').toString('base64');
  const bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '\\' && v[i + 1] === '\\') {
      bytes.push(0x5c);
      i++;
    } else if (v[i] === '\\' && /^[0-7]{3}$/.test(v.slice(i + 1, i + 4))) {
      bytes.push(parseInt(v.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(...Buffer.from(v[i]!, 'utf8'));
  }
  return Buffer.from(bytes).toString('base64');
}

export const postgresTriggerCapture: TriggerCapture = {
  transactional: true,
  // seq is drawn inside the writer's transaction after its row change took the row lock, so two
  // writers of one key draw seqs in their commit order; the horizon bounds late commits.
  order: 'seq',
  createChangelog: (cl) => [
    `CREATE TABLE ${qn(cl)} (seq bigserial PRIMARY KEY, txid xid8 NOT NULL DEFAULT pg_current_xact_id(), tbl text NOT NULL, op char(1) NOT NULL, row_key jsonb NOT NULL, old_row jsonb, new_row jsonb, at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    `CREATE INDEX ${dq(`${cl.name}_order`)} ON ${qn(cl)} (txid, seq)`,
    // Fixed search_path and qualified names: the legacy session's search_path cannot change what
    // the function resolves (a changelog not found would fail the application's own write).
    `CREATE FUNCTION ${fn(cl)}() RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE o jsonb; n jsonb; k jsonb;
BEGIN
  IF TG_OP <> 'INSERT' THEN o := pg_catalog.to_jsonb(OLD); END IF;
  IF TG_OP <> 'DELETE' THEN n := pg_catalog.to_jsonb(NEW); END IF;
  SELECT pg_catalog.jsonb_object_agg(c, COALESCE(n, o) -> c) INTO k FROM pg_catalog.unnest(TG_ARGV) AS c;
  INSERT INTO ${qn(cl)} (tbl, op, row_key, old_row, new_row)
  VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, CASE TG_OP WHEN 'INSERT' THEN 'c' WHEN 'UPDATE' THEN 'u' ELSE 'd' END, k, o, n);
  RETURN NULL;
END
$fn$`,
  ],
  dropChangelog: (cl) => [`DROP FUNCTION IF EXISTS ${fn(cl)}()`, `DROP TABLE IF EXISTS ${qn(cl)}`],
  createTriggers: (cl, t) => [
    `CREATE TRIGGER ${dq(triggerName(t))} AFTER INSERT OR UPDATE OR DELETE ON ${dq(t.schema)}.${dq(t.name)} FOR EACH ROW EXECUTE FUNCTION ${fn(cl)}(${t.key.map(lit).join(', ')})`,
  ],
  dropTriggers: (t) => [`DROP TRIGGER IF EXISTS ${dq(triggerName(t))} ON ${dq(t.schema)}.${dq(t.name)}`],

  async defaultSchema(knex) {
    const s = rawRows(await knex.raw('SELECT current_schema() AS s'))[0]?.s;
    // NULL when no schema on the search_path exists: name the changelog's schema then.
    if (typeof s !== 'string') throw new Error('no current schema: set changelog: <schema>.<table>');
    return s;
  },
  async openReadView(knex) {
    const trx = await knex.transaction({ isolationLevel: 'repeatable read', readOnly: true });
    // Without a handler knex leaves the outcome to us; a failed query is thrown where it is awaited.
    trx.executionPromise.catch(() => {});
    return trx;
  },
  async captureSeen(trx, changelog, c) {
    // The snapshot is kept, and an entry is skipped when pg_visible_in_snapshot(txid, snapshot).
    // Entries it holds have a seq ≤ the largest it sees (`through`): past that, none can be in it.
    const r = rawRows(
      await trx.raw('SELECT pg_current_snapshot()::text AS s, (SELECT max(seq) FROM ??) AS m', [changelog]),
    )[0];
    const snapshot = r?.s;
    if (typeof snapshot !== 'string') throw new Error('pg_current_snapshot() returned no text');
    const through = r?.m === null || r?.m === undefined ? 0 : Number(r.m);
    c.seen = { snapshot, through };
  },
  seenColumn: (knex, seen) =>
    'snapshot' in seen
      ? knex.raw('pg_visible_in_snapshot(txid, ?::pg_snapshot) AS sluice_seen', [seen.snapshot])
      : null,
  async adoptCursor(knex, changelog, last) {
    // Earlier versions read in (txid, seq) order below pg_snapshot_xmin: every entry up to the
    // stored [txid, seq] is published. Remove those; the rest is read from the start in seq order.
    if (last.length !== 2) throw new Error(`unknown changelog cursor ${JSON.stringify(last)}`);
    await knex(changelog)
      .whereRaw('(txid, seq) <= (?::xid8, ?)', [String(last[0]), Number(last[1])])
      .delete();
    return null;
  },
  jsonText: (knex, column) => knex.raw('??::text AS ??', [column, column]),
  value(type, v) {
    if (v === null || v === undefined) return null;
    switch (type) {
      case 'numeric':
        return digits(v);
      case 'int8':
        return int64(v);
      case 'int2':
      case 'int4':
      case 'oid':
      case 'float4':
      case 'float8':
        return float(v);
      case 'money':
        return moneyDigits(v);
      case 'timestamptz':
        return utcIso(v);
      case 'bytea':
        return bytea(v);
      case 'json':
      case 'jsonb':
        return jsonNumbers(v);
      default:
        return plain(v);
    }
  },
};
