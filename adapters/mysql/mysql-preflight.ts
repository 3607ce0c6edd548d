// Checks what binlog capture needs and says, for each problem, the statement or setting that
// fixes it. Changes nothing.
import type { PreflightReport } from '../../src/core/source-adapter.js';
import type { MysqlSession } from './mysql-session.js';

const DAY = 86_400;

export async function runPreflight(s: MysqlSession): Promise<PreflightReport> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const facts: Record<string, unknown> = {};
  try {
    const f = await s.facts();
    facts.serverVersion = f.version;
    facts.serverId = f.serverId;
    facts.readerServerId = s.serverId;
    facts.gtids = f.gtids;
    const vars = new Map<string, string>();
    for (const r of await s.rows(
      `SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image',
        'binlog_row_metadata', 'binlog_transaction_compression', 'binlog_row_value_options',
        'binlog_expire_logs_seconds', 'expire_logs_days', 'gtid_mode')`,
    ))
      vars.set(String(r.Variable_name).toLowerCase(), String(r.Value ?? ''));
    const v = (name: string) => vars.get(name);
    const cnf = 'and in the server config file (my.cnf) so a restart keeps it';

    if (v('log_bin')?.toUpperCase() !== 'ON')
      problems.push(
        'the binary log is off (log_bin = OFF): add log_bin = <basename> (e.g. log_bin = mysql-bin) and a server_id to the server config file and restart the server',
      );
    const format = v('binlog_format')?.toUpperCase();
    facts.binlogFormat = format;
    if (format !== 'ROW')
      problems.push(
        `binlog_format is ${format ?? 'unknown'} (MariaDB's default is MIXED): run SET GLOBAL binlog_format = 'ROW' ${cnf}; sessions already connected keep their format until they reconnect`,
      );
    const image = v('binlog_row_image')?.toUpperCase();
    if (image !== undefined && image !== 'FULL')
      problems.push(
        `binlog_row_image is ${image}: updates and deletes would carry partial rows; run SET GLOBAL binlog_row_image = 'FULL' ${cnf}`,
      );
    const meta = v('binlog_row_metadata')?.toUpperCase();
    facts.binlogRowMetadata = meta ?? 'not available';
    if (meta !== undefined && meta !== 'FULL')
      problems.push(
        `binlog_row_metadata is ${meta}: without FULL, column names are read from INFORMATION_SCHEMA at read time and a column renamed or dropped while the binlog is behind is decoded wrong; run SET GLOBAL binlog_row_metadata = 'FULL' ${cnf}`,
      );
    if (meta === undefined)
      warnings.push(
        `this server has no binlog_row_metadata (MySQL 8.0 / MariaDB 10.5 add it): column names come from INFORMATION_SCHEMA, so do not ALTER captured tables while the source is behind`,
      );
    if (v('binlog_transaction_compression')?.toUpperCase() === 'ON')
      problems.push(
        `binlog_transaction_compression is ON: compressed transactions cannot be decoded; run SET GLOBAL binlog_transaction_compression = OFF ${cnf}`,
      );
    if (/PARTIAL_JSON/i.test(v('binlog_row_value_options') ?? ''))
      problems.push(
        `binlog_row_value_options has PARTIAL_JSON: JSON updates would carry diffs, not values; run SET GLOBAL binlog_row_value_options = '' ${cnf}`,
      );
    if (!f.mariadb && v('gtid_mode')?.toUpperCase() !== 'ON')
      warnings.push(
        'gtid_mode is not ON: offsets are binlog file and position, which do not survive a failover to another server; consider gtid_mode = ON with enforce_gtid_consistency = ON',
      );

    const expire = Number(v('binlog_expire_logs_seconds') ?? 0) || Number(v('expire_logs_days') ?? 0) * DAY;
    facts.binlogRetentionSeconds = expire || 'forever';
    if (expire > 0 && expire < DAY)
      warnings.push(
        `binlogs are kept ${expire} s: a source stopped longer than that loses its position and must snapshot again; raise it with SET GLOBAL binlog_expire_logs_seconds = 604800 ${cnf}`,
      );
    const logs = await s.rows('SHOW BINARY LOGS').catch(() => []);
    facts.binlogFiles = logs.length;

    if (f.serverId === 0)
      problems.push(
        'the server has server_id = 0, which refuses replicas: set server_id = 1 (any non-zero id) in the server config file and restart',
      );
    if (f.serverId === s.serverId)
      problems.push(
        `serverId ${s.serverId} of this source is the server's own server_id: set the source's serverId to a number no server or replica of this topology uses`,
      );

    await checkGrants(s, problems, warnings, facts);

    const { found, missing } = await s.resolveTables();
    facts.tables = found;
    for (const m of missing) problems.push(`table ${m} does not exist (or matches nothing)`);
    for (const t of found) {
      const dot = t.indexOf('.');
      const [info] = await s.rows(
        'SELECT ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
        [t.slice(0, dot), t.slice(dot + 1)],
      );
      const knex = await s.knex();
      try {
        await knex(t).select(knex.raw('1')).limit(0);
      } catch (err) {
        problems.push(
          `cannot read ${t}: GRANT SELECT ON ${t} TO the source's user (${(err as Error).message})`,
        );
        continue;
      }
      const loaded = await s.loadTable(t);
      if (loaded && loaded.key.length === 0)
        warnings.push(
          `${t} has no primary key: its events carry an empty Sluice-Key and its snapshot cannot resume part-way; add one with ALTER TABLE ${t} ADD PRIMARY KEY (...)`,
        );
      if (info && String(info.engine).toLowerCase() !== 'innodb')
        warnings.push(
          `${t} uses the ${String(info.engine)} engine: the consistent snapshot covers InnoDB tables only, so changes to it during the snapshot may arrive twice or be missed; ALTER TABLE ${t} ENGINE = InnoDB`,
        );
    }
  } catch (err) {
    problems.push(`preflight query failed: ${s.classify(err, 'preflight').message}`);
  }
  return { ok: problems.length === 0, problems, warnings, facts };
}

async function checkGrants(
  s: MysqlSession,
  problems: string[],
  warnings: string[],
  facts: Record<string, unknown>,
): Promise<void> {
  let grants: string[];
  let user = 'CURRENT_USER';
  try {
    const [u] = await s.rows('SELECT CURRENT_USER() AS u');
    const at = String(u?.u ?? '').lastIndexOf('@');
    if (at > 0) user = `'${String(u!.u).slice(0, at)}'@'${String(u!.u).slice(at + 1)}'`;
    grants = (await s.rows('SHOW GRANTS')).map((r) => String(Object.values(r)[0]));
  } catch (err) {
    warnings.push(
      `cannot read this user's grants (${(err as Error).message}); REPLICATION SLAVE and REPLICATION CLIENT are not checked`,
    );
    return;
  }
  facts.user = user;
  const global = grants.filter((g) => / ON \*\.\* TO /i.test(g)).join(' ');
  const has = (priv: RegExp) => /ALL PRIVILEGES/i.test(global) || priv.test(global);
  const fix = (p: string) => `run GRANT ${p} ON *.* TO ${user}`;
  if (!has(/REPLICATION SLAVE|REPLICATION REPLICA/i))
    problems.push(`${user} lacks REPLICATION SLAVE, needed to read the binlog: ${fix('REPLICATION SLAVE')}`);
  // MariaDB 10.5+ names REPLICATION CLIENT "BINLOG MONITOR"; either reads binlog positions.
  if (!has(/REPLICATION CLIENT|BINLOG MONITOR/i))
    problems.push(
      `${user} lacks REPLICATION CLIENT, needed for SHOW BINARY LOGS and the binlog position: ${fix('REPLICATION CLIENT')}`,
    );
}
