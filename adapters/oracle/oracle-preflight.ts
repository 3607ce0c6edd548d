// Checks what LogMiner capture needs and says, for each problem, the statement that fixes it
// (run as SYSDBA, or by a DBA; in a multitenant database grants go to a common user in the CDB
// root with CONTAINER=ALL). Changes nothing.
import type { PreflightReport } from '../../src/core/source-adapter.js';
import { errorMessage } from '../../src/core/errors.js';
import { urlParts } from '../../src/sql/sql-dialect.js';
import { OracleLoginError } from './oracle-errors.js';
import type { OracleSession } from './oracle-session.js';

/** The privileges the adapter uses, each with what it is for. */
const PRIVILEGES: readonly { name: string; why: string }[] = [
  { name: 'LOGMINING', why: 'to run DBMS_LOGMNR and read V$LOGMNR_CONTENTS (Oracle 12c and later)' },
  { name: 'SELECT ANY TRANSACTION', why: 'to read other sessions’ redo in V$LOGMNR_CONTENTS' },
  {
    name: 'FLASHBACK ANY TABLE',
    why: 'for the snapshot’s AS OF SCN reads (or GRANT FLASHBACK ON each table)',
  },
];

/** V$ views the adapter reads (through the V_$ synonyms' base views). */
const VIEWS = [
  'V_$DATABASE',
  'V_$LOG',
  'V_$LOGFILE',
  'V_$ARCHIVED_LOG',
  'V_$TRANSACTION',
  'V_$LOGMNR_CONTENTS',
];

export async function runPreflight(s: OracleSession): Promise<PreflightReport> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const facts: Record<string, unknown> = {};
  const user = (urlParts(s.cfg.url).user ?? '<user>').toUpperCase();
  try {
    const conn = await s.connection();
    facts.serverVersion = conn.oracleServerVersionString ?? null;
    const major = Number(/^(\d+)/.exec(conn.oracleServerVersionString ?? '')?.[1] ?? 0);
    if (major > 0 && major < 12)
      problems.push(
        `Oracle ${conn.oracleServerVersionString} is older than 12.1, which oracledb Thin mode needs; upgrade the database or capture through a \`triggers\` source`,
      );

    const privs = new Set(
      (await s.rows('SELECT PRIVILEGE FROM SESSION_PRIVS')).map((r) => String(r.PRIVILEGE)),
    );
    const roles = new Set((await s.rows('SELECT ROLE FROM SESSION_ROLES')).map((r) => String(r.ROLE)));
    facts.privileges = [...privs].filter((p) => PRIVILEGES.some((x) => x.name === p));
    for (const p of PRIVILEGES)
      if (!privs.has(p.name))
        problems.push(
          `${user} lacks ${p.name}, needed ${p.why}: run GRANT ${p.name} TO ${user} CONTAINER=ALL;`,
        );
    if (!roles.has('EXECUTE_CATALOG_ROLE') && !privs.has('EXECUTE ANY PROCEDURE'))
      problems.push(
        `${user} cannot run DBMS_LOGMNR: run GRANT EXECUTE_CATALOG_ROLE TO ${user} CONTAINER=ALL;`,
      );
    if (!roles.has('SELECT_CATALOG_ROLE') && !privs.has('SELECT ANY DICTIONARY')) {
      problems.push(
        `${user} cannot read the V$ views: run GRANT SELECT_CATALOG_ROLE TO ${user} CONTAINER=ALL;`,
      );
      for (const v of VIEWS) problems.push(`  or: GRANT SELECT ON ${v} TO ${user} CONTAINER=ALL;`);
      return { ok: false, problems, warnings, facts };
    }

    const [db] = await s.rows(
      'SELECT LOG_MODE, SUPPLEMENTAL_LOG_DATA_MIN, SUPPLEMENTAL_LOG_DATA_ALL, CURRENT_SCN FROM V$DATABASE',
    );
    facts.logMode = db?.LOG_MODE ?? null;
    facts.currentScn = db?.CURRENT_SCN ?? null;
    if (db?.LOG_MODE !== 'ARCHIVELOG')
      problems.push(
        `the database is in ${String(db?.LOG_MODE ?? 'unknown')} mode: redo is overwritten before it can be mined; as SYSDBA run SHUTDOWN IMMEDIATE; STARTUP MOUNT; ALTER DATABASE ARCHIVELOG; ALTER DATABASE OPEN;`,
      );
    if (db?.SUPPLEMENTAL_LOG_DATA_MIN === 'NO')
      problems.push('minimal supplemental logging is off: run ALTER DATABASE ADD SUPPLEMENTAL LOG DATA;');
    const allColumns = db?.SUPPLEMENTAL_LOG_DATA_ALL === 'YES';
    facts.supplementalLogAll = allColumns;

    const { found, missing } = await s.resolveTables();
    for (const m of missing)
      problems.push(
        `table ${m} does not exist or ${user} cannot see it: run GRANT SELECT ON ${m} TO ${user};`,
      );
    facts.tables = found;
    for (const q of found) {
      const [owner, table] = q.split('.') as [string, string];
      if (!allColumns) {
        const groups = await s.rows(
          `SELECT LOG_GROUP_TYPE FROM ALL_LOG_GROUPS WHERE OWNER = :1 AND TABLE_NAME = :2 AND LOG_GROUP_TYPE = 'ALL COLUMN LOGGING'`,
          [owner, table],
        );
        if (groups.length === 0)
          problems.push(
            `${q} has no supplemental logging of all columns: updates and deletes would carry only changed columns; run ALTER TABLE ${q} ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS;`,
          );
      }
      const key = await s.rows(
        `SELECT 1 AS HAS FROM ALL_CONSTRAINTS WHERE OWNER = :1 AND TABLE_NAME = :2 AND CONSTRAINT_TYPE = 'P'`,
        [owner, table],
      );
      if (key.length === 0)
        warnings.push(
          `${q} has no primary key: its events carry an empty Sluice-Key and the snapshot reads it in one query; add a primary key if you can`,
        );
    }
  } catch (err) {
    const e = s.classify(err, 'preflight');
    // A database that is down or failing over is retried, a refused login stops with its own code;
    // anything else (a missing view, a grant) is a problem to report.
    if (e.retriable || e instanceof OracleLoginError) throw e;
    problems.push(`cannot check the source: ${errorMessage(e)}`);
  }
  return { ok: problems.length === 0, problems, warnings, facts };
}
