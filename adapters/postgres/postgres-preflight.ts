// Checks what logical replication needs and says how to fix what is missing. Changes nothing.
import type { PreflightReport } from '../../src/core/source-adapter.js';
import { publicationTables, resolveTables, slotInfo, tableInfo } from './postgres-catalog.js';
import type { PgSession } from './postgres-session.js';

export async function runPreflight(s: PgSession): Promise<PreflightReport> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const facts: Record<string, unknown> = {};
  let client;
  try {
    client = await s.connect();
  } catch (err) {
    return { ok: false, problems: [`cannot connect: ${(err as Error).message}`], warnings, facts };
  }
  try {
    const q = async (sql: string, params: unknown[] = []) =>
      (await client.query(sql, params)).rows[0] as Record<string, string>;
    const version = Number((await q('SHOW server_version_num')).server_version_num);
    facts.serverVersion = version;
    if (version < 140000)
      problems.push(
        `PostgreSQL ${Math.floor(version / 10000)} is too old: logical messages (used for heartbeats) need PostgreSQL 14 or later`,
      );

    const wal = (await q('SHOW wal_level')).wal_level;
    facts.walLevel = wal;
    if (wal !== 'logical')
      problems.push(
        `wal_level is ${wal}: run ALTER SYSTEM SET wal_level = logical (or set it in postgresql.conf) and restart PostgreSQL`,
      );

    const role = await q(
      'SELECT current_user AS name, rolreplication::text AS repl, rolsuper::text AS super FROM pg_roles WHERE rolname = current_user',
    );
    facts.role = role.name;
    if (role.repl !== 'true' && role.super !== 'true')
      problems.push(
        `role ${role.name} cannot use replication: run ALTER ROLE "${role.name}" WITH REPLICATION`,
      );

    const slots = await q(
      `SELECT current_setting('max_replication_slots')::int AS max, (SELECT count(*) FROM pg_replication_slots)::int AS used`,
    );
    const slot = await slotInfo(client, s.slot);
    facts.slotExists = slot !== null;
    if (slot && slot.plugin !== 'pgoutput')
      problems.push(
        `replication slot ${s.slot} exists with plugin ${slot.plugin}, not pgoutput: drop it or choose another slot name`,
      );
    if (!slot && Number(slots.used) >= Number(slots.max))
      problems.push(
        `all ${slots.max} replication slots are in use: raise max_replication_slots (restart needed) or drop an unused slot`,
      );

    const { found, missing } = await resolveTables(client, s.cfg.tables);
    facts.tables = found;
    for (const m of missing) problems.push(`table ${m} does not exist (or matches nothing)`);
    for (const t of found) {
      const info = await tableInfo(client, t);
      if (!info) continue;
      const canRead = await q(`SELECT has_table_privilege($1, 'SELECT')::text AS ok`, [info.quoted]);
      if (canRead.ok !== 'true')
        problems.push(
          `role ${role.name} cannot read ${t}: run GRANT SELECT ON ${info.quoted} TO "${role.name}"`,
        );
      if (info.replicaIdentity === 'n')
        problems.push(
          `${t} has REPLICA IDENTITY NOTHING, so its updates and deletes cannot be captured: run ALTER TABLE ${info.quoted} REPLICA IDENTITY FULL`,
        );
      else if (info.replicaIdentity === 'd' && !info.hasPrimaryKey)
        // Inserts are still captured (append-only tables such as logs are common), so this warns
        // rather than refuses; the fix is one statement.
        warnings.push(
          `${t} has no primary key or replica identity: once it is in the publication, UPDATE and DELETE on it fail (SQLSTATE 55000). Run ALTER TABLE ${info.quoted} REPLICA IDENTITY FULL (or USING INDEX on a unique index) unless it only ever gets INSERTs`,
        );
    }

    const pub = await publicationTables(client, s.publication);
    facts.publication = s.publication;
    if (pub === null && !s.cfg.createPublication)
      problems.push(
        `publication ${s.publication} does not exist and createPublication is false: run CREATE PUBLICATION ${s.publication} FOR TABLE ${found.join(', ')}`,
      );
    if (pub instanceof Set && !s.cfg.createPublication) {
      const lacking = found.filter((t) => !pub.has(t));
      if (lacking.length > 0)
        problems.push(
          `publication ${s.publication} lacks ${lacking.join(', ')}: run ALTER PUBLICATION ${s.publication} ADD TABLE ${lacking.join(', ')}`,
        );
    }
    if (pub === null && s.cfg.createPublication) {
      const canCreate = await q(`SELECT has_database_privilege(current_database(), 'CREATE')::text AS ok`);
      if (canCreate.ok !== 'true' && role.super !== 'true')
        problems.push(
          `role ${role.name} cannot create publication ${s.publication}: GRANT CREATE ON DATABASE to it, or create the publication yourself and set createPublication: false`,
        );
    }
  } catch (err) {
    problems.push(`preflight query failed: ${(err as Error).message}`);
  } finally {
    await client.end().catch(() => {});
  }
  return { ok: problems.length === 0, problems, warnings, facts };
}
