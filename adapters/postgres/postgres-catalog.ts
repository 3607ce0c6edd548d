// Catalog queries: table resolution, keys, replica identity, publication and slot facts.
import type pg from 'pg';

export interface TableInfo {
  readonly schema: string;
  readonly name: string;
  readonly qualified: string; // schema.table as configured
  readonly quoted: string; // "schema"."table"
  readonly columns: readonly { name: string; type: string }[];
  /** Primary key, else the replica identity index, else empty (no key: resumable only as a whole). */
  readonly key: readonly string[];
  readonly keyTypes: readonly string[];
  readonly replicaIdentity: 'd' | 'n' | 'f' | 'i';
  readonly hasPrimaryKey: boolean;
}

/** Sessions run with every type parser off, so booleans arrive as 't'/'f'. */
const bool = (v: unknown): boolean => v === true || v === 't' || v === 'true';
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** Expands `schema.table` and `schema.*` globs (`*`, `?`) to the ordinary tables that exist. */
export async function resolveTables(
  client: pg.ClientBase,
  patterns: readonly string[],
): Promise<{ found: string[]; missing: string[] }> {
  const found: string[] = [];
  const missing: string[] = [];
  for (const p of patterns) {
    const [schema, table] = p.split('.') as [string, string];
    const like = (s: string) =>
      s
        .replace(/[\\%_]/g, (c) => `\\${c}`)
        .replace(/\*/g, '%')
        .replace(/\?/g, '_');
    const { rows } = await client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname LIKE $1 AND c.relname LIKE $2
          AND n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2`,
      [like(schema), like(table)],
    );
    if (rows.length === 0) missing.push(p);
    for (const r of rows) {
      const q = `${r.schema}.${r.name}`;
      if (!found.includes(q)) found.push(q);
    }
  }
  return { found, missing };
}

export async function tableInfo(client: pg.ClientBase, qualified: string): Promise<TableInfo | null> {
  const dot = qualified.indexOf('.');
  const schema = qualified.slice(0, dot);
  const name = qualified.slice(dot + 1);
  const { rows: rel } = await client.query<{ oid: string; relreplident: string }>(
    `SELECT c.oid::int AS oid, c.relreplident FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [schema, name],
  );
  const r = rel[0];
  if (!r) return null;
  const { rows: cols } = await client.query<{ name: string; type: string }>(
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_catalog.pg_attribute
      WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [r.oid],
  );
  const keyOf = async (cond: string) =>
    (
      await client.query<{ name: string; type: string }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
           FROM pg_catalog.pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
           JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
          WHERE i.indrelid = $1 AND ${cond} ORDER BY k.ord`,
        [r.oid],
      )
    ).rows;
  const pk = await keyOf('i.indisprimary');
  const key = pk.length > 0 ? pk : await keyOf('i.indisreplident');
  return {
    schema,
    name,
    qualified,
    quoted: `${quoteIdent(schema)}.${quoteIdent(name)}`,
    columns: cols,
    key: key.map((k) => k.name),
    keyTypes: key.map((k) => k.type),
    replicaIdentity: r.relreplident as TableInfo['replicaIdentity'],
    hasPrimaryKey: pk.length > 0,
  };
}

export interface SlotInfo {
  readonly plugin: string | null;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: string | null;
  readonly restartLsn: string | null;
  readonly walStatus: string | null;
  readonly retainedBytes: number | null;
  readonly lagBytes: number | null;
}

export async function slotInfo(client: pg.ClientBase, slot: string): Promise<SlotInfo | null> {
  const { rows } = await client.query(
    `SELECT plugin, active, active_pid, confirmed_flush_lsn::text AS confirmed, restart_lsn::text AS restart, wal_status,
            pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS lag
       FROM pg_catalog.pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    plugin: r.plugin,
    active: bool(r.active),
    activePid: num(r.active_pid),
    confirmedFlushLsn: r.confirmed,
    restartLsn: r.restart,
    walStatus: r.wal_status,
    retainedBytes: num(r.retained),
    lagBytes: num(r.lag),
  };
}

/** Creates the publication, or adds the tables it lacks. Returns what it did. */
export async function ensurePublication(
  client: pg.ClientBase,
  publication: string,
  tables: readonly TableInfo[],
): Promise<string> {
  const { rows } = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1',
    [publication],
  );
  const { rows: pubs } = await client.query(
    'SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1',
    [publication],
  );
  const list = tables.map((t) => t.quoted).join(', ');
  if (pubs.length === 0) {
    await client.query(`CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${list}`);
    return `created publication ${publication}`;
  }
  if (bool(pubs[0].puballtables)) return `publication ${publication} covers all tables`;
  const have = new Set(rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const lacking = tables.filter((t) => !have.has(t.qualified));
  if (lacking.length === 0) return `publication ${publication} is up to date`;
  await client.query(
    `ALTER PUBLICATION ${quoteIdent(publication)} ADD TABLE ${lacking.map((t) => t.quoted).join(', ')}`,
  );
  return `added ${lacking.map((t) => t.qualified).join(', ')} to publication ${publication}`;
}

export async function publicationTables(
  client: pg.ClientBase,
  publication: string,
): Promise<Set<string> | 'all' | null> {
  const { rows: pubs } = await client.query(
    'SELECT puballtables FROM pg_catalog.pg_publication WHERE pubname = $1',
    [publication],
  );
  if (pubs.length === 0) return null;
  if (bool(pubs[0].puballtables)) return 'all';
  const { rows } = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_catalog.pg_publication_tables WHERE pubname = $1',
    [publication],
  );
  return new Set(rows.map((r) => `${r.schemaname}.${r.tablename}`));
}
