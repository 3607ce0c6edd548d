// Checks what CDC (or Change Tracking) needs and says, per problem, the statement that fixes it.
// Changes nothing.
import { errorMessage } from '../../src/core/errors.js';
import type { PreflightReport } from '../../src/core/source-adapter.js';
import { br, lit } from '../../src/sql/quote.js';
import type { MssqlSourceConfig } from './config.js';
import { loadTables, quoted, type MssqlTable } from './mssql-catalog.js';
import { text, type MssqlExecutor } from './mssql-session.js';

const FACTS_SQL = `SELECT DB_NAME() AS db, d.is_cdc_enabled AS cdc, d.snapshot_isolation_state AS snapshot_isolation,
       CAST(SERVERPROPERTY('EngineEdition') AS int) AS edition,
       CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(64)) AS version,
       (SELECT COUNT(*) FROM sys.change_tracking_databases c WHERE c.database_id = DB_ID()) AS ct_db
  FROM sys.databases d WHERE d.database_id = DB_ID()`;

/** EngineEdition 4: Express, which has neither CDC nor the Agent. */
const EXPRESS = 4;

function perms(tables: readonly MssqlTable[], cdc: boolean): string {
  const items = tables.flatMap((t, i) => {
    const own = [
      `HAS_PERMS_BY_NAME(${lit(quoted(t))}, 'OBJECT', 'SELECT') AS [s${i}]`,
      `HAS_PERMS_BY_NAME(${lit(quoted(t))}, 'OBJECT', 'VIEW CHANGE TRACKING') AS [v${i}]`,
    ];
    const cis = cdc
      ? t.captures.map(
          (c, j) =>
            `HAS_PERMS_BY_NAME(${lit(`cdc.${br(`${c.name}_CT`)}`)}, 'OBJECT', 'SELECT') AS [c${i}_${j}]`,
        )
      : [];
    return [...own, ...cis];
  });
  return `SELECT ${items.join(', ')}`;
}

const enableTable = (t: MssqlTable) =>
  `EXEC sys.sp_cdc_enable_table @source_schema = ${lit(t.schema)}, @source_name = ${lit(t.name)}, @role_name = NULL;`;

export async function runPreflight(
  db: MssqlExecutor,
  cfg: MssqlSourceConfig,
): Promise<{ report: PreflightReport; tables: MssqlTable[] }> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const facts: Record<string, unknown> = { mode: cfg.mode };
  const cdc = cfg.mode === 'cdc';
  let tables: MssqlTable[] = [];
  try {
    const [[f = {}] = []] = await db.batch(FACTS_SQL);
    const name = text(f.db);
    facts.database = name;
    facts.version = f.version;
    facts.edition = f.edition;
    const dbq = br(name);
    if (Number(f.snapshot_isolation) !== 1)
      problems.push(
        `snapshot isolation is off in database ${name} (the snapshot and each change read run under it): run ALTER DATABASE ${dbq} SET ALLOW_SNAPSHOT_ISOLATION ON;`,
      );
    if (cdc) {
      const on = f.cdc === true || f.cdc === 1;
      facts.cdcEnabled = on;
      if (!on)
        problems.push(
          Number(f.edition) === EXPRESS
            ? `database ${name} runs on SQL Server Express, which has no CDC: use mode: changeTracking, or Standard/Enterprise/Developer edition`
            : `CDC is not enabled for database ${name}: run USE ${dbq}; EXEC sys.sp_cdc_enable_db; (as a member of sysadmin)`,
        );
      else {
        const [[m = {}] = []] = await db.batch('SELECT sys.fn_cdc_get_max_lsn() AS max_lsn');
        facts.agentRunning = m.max_lsn !== null && m.max_lsn !== undefined;
        if (!facts.agentRunning)
          problems.push(
            `sys.fn_cdc_get_max_lsn() is NULL: the SQL Server Agent is not running (or its capture job has recorded nothing yet): start the Agent (on Linux: mssql-conf set sqlagent.enabled true, or MSSQL_AGENT_ENABLED=true in a container) and check EXEC sys.sp_cdc_help_jobs;`,
          );
      }
    } else if (Number(f.ct_db) === 0)
      problems.push(
        `Change Tracking is not enabled for database ${name}: run ALTER DATABASE ${dbq} SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);`,
      );

    const loaded = await loadTables(db, cfg.tables, cdc && facts.cdcEnabled === true);
    tables = loaded.tables;
    for (const m of loaded.missing) problems.push(`no table matches ${m}: check the name in tables`);
    facts.tables = tables.map((t) => t.qualified);

    if (!cdc && tables.length > 0) {
      const [tracked = []] = await db.batch(
        `SELECT object_id FROM sys.change_tracking_tables WHERE object_id IN (${tables.map((t) => t.objectId).join(', ')})`,
      );
      const ids = new Set(tracked.map((r) => Number(r.object_id)));
      for (const t of tables) {
        if (t.key.length === 0)
          problems.push(
            `table ${t.qualified} has no primary key, which Change Tracking needs: add one, or use mode: cdc`,
          );
        else if (!ids.has(t.objectId))
          problems.push(
            `Change Tracking is not enabled for table ${t.qualified}: run ALTER TABLE ${quoted(t)} ENABLE CHANGE_TRACKING;`,
          );
      }
    }
    if (cdc && facts.cdcEnabled === true)
      for (const t of tables) {
        if (!t.trackedByCdc || t.captures.length === 0)
          problems.push(`table ${t.qualified} is not captured by CDC: run ${enableTable(t)}`);
        else if (t.key.length === 0)
          warnings.push(
            `table ${t.qualified} has no primary key: events are keyed by all columns; add a primary key for stable keys`,
          );
      }

    if (tables.length > 0) {
      const [[p = {}] = []] = await db.batch(perms(tables, cdc && facts.cdcEnabled === true));
      tables.forEach((t, i) => {
        if (p[`s${i}`] !== 1)
          problems.push(
            `cannot SELECT from ${t.qualified}: run GRANT SELECT ON ${quoted(t)} TO <the source's user>;`,
          );
        if (!cdc && p[`v${i}`] !== 1)
          problems.push(
            `cannot read the Change Tracking of ${t.qualified}: run GRANT VIEW CHANGE TRACKING ON ${quoted(t)} TO <the source's user>;`,
          );
        if (cdc)
          t.captures.forEach((c, j) => {
            if (p[`c${i}_${j}`] !== 1)
              problems.push(
                `cannot read capture instance ${c.name} of ${t.qualified}: add the source's user to db_owner or to the instance's gating role (the @role_name of sys.sp_cdc_enable_table), or run GRANT SELECT ON SCHEMA::cdc TO <the source's user>;`,
              );
          });
      });
    }
  } catch (err) {
    problems.push(`cannot check the source: ${errorMessage(err)}`);
  }
  return { report: { ok: problems.length === 0, problems, warnings, facts }, tables };
}
