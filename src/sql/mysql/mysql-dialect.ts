// MySQL and MariaDB through knex + mysql2. Dates stay strings, big numbers stay exact strings.
import type { Knex } from 'knex';
import { bq } from '../quote.js';
import { mysqlChunkHash } from './mysql-checksum.js';
import {
  baseSinkValue,
  dialectBase,
  errorProps,
  onConflictUpsert,
  urlParts,
  type DbErrorKind,
  type SqlDialect,
} from '../sql-dialect.js';
import { int64, localIso } from '../changelog-values.js';
import { mysqlHorizon } from './mysql-horizon.js';
import { mysqlTriggerCapture } from './mysql-triggers.js';
import { readPem, type DbTls } from '../sql-tls.js';

const kinds: Record<number, DbErrorKind> = {
  1062: 'unique',
  1451: 'foreignKey',
  1452: 'foreignKey',
  1216: 'foreignKey',
  1217: 'foreignKey',
  1048: 'notNull',
  1364: 'notNull',
  3819: 'check', // MySQL 8
  4025: 'check', // MariaDB
  1264: 'invalidValue', // out of range
  1265: 'invalidValue', // data truncated
  1292: 'invalidValue', // incorrect date/time value
  1366: 'invalidValue', // incorrect integer/string value
  1406: 'invalidValue', // data too long
  1213: 'concurrency', // deadlock
  1205: 'concurrency', // lock wait timeout
};

// mysql2's own codes for a connection lost or timed out, and the server's numbers for "cannot
// connect now": 1040 too many connections, 1053 shutting down, 2002/2003 cannot connect, 2006 gone
// away, 2013 lost during a query.
const unreachableCodes = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
]);
const unreachableNumbers = new Set([1040, 1053, 2002, 2003, 2006, 2013]);

/**
 * mysql2 `ssl` (the binlog connection of zongji uses the same options): verify-full adds
 * `verifyIdentity`, mysql2's host name check; require turns off the chain check.
 */
export function mysqlSsl(tls: DbTls | undefined): { ssl?: Record<string, unknown> } {
  if (!tls || tls.mode === 'disable') return {};
  return {
    ssl: {
      rejectUnauthorized: tls.mode !== 'require',
      verifyIdentity: tls.mode === 'verify-full',
      ...(tls.ca ? { ca: readPem(tls.ca, 'ca') } : {}),
      ...(tls.cert ? { cert: readPem(tls.cert, 'cert') } : {}),
      ...(tls.key ? { key: readPem(tls.key, 'key') } : {}),
    },
  };
}

export const mysqlDialect: SqlDialect = {
  ...dialectBase,
  name: 'mysql',
  quoteIdentifier: bq,
  client: 'mysql2',
  rawRows: (result) => (result as [Record<string, unknown>[], unknown])[0], // [rows, fields]
  supportsReturning: false,
  horizon: mysqlHorizon,
  // No log position bounds a poll's values: the look-back window covers what the horizon cannot see.
  defaultLookBackMs: 2000,
  triggers: mysqlTriggerCapture,
  // db.table: a source may capture tables of any database the connection reaches.
  introspectName: (schema: string, table: string) => `${schema}.${table}`,
  // knex compiles onConflict().merge() to ON DUPLICATE KEY UPDATE (the key list is not part of it).
  upsert: onConflictUpsert,
  chunkHashSql: mysqlChunkHash,
  sinkMarks: 'marker', // the binlog source recognises the marker row (adapters/mysql)
  introspector: async () => (await import('./mysql-introspector.js')).mysqlIntrospector,
  isUnavailable(err: unknown): boolean {
    if (dialectBase.isUnavailable(err)) return true;
    const { code, errno } = errorProps(err);
    return (
      (code !== undefined && unreachableCodes.has(code)) ||
      (errno !== undefined && unreachableNumbers.has(errno))
    );
  },
  sinkValue(value: unknown, columnType: string): unknown {
    // DATETIME/TIMESTAMP take `YYYY-MM-DD HH:MM:SS.ffffff`; a zoned value is written in UTC
    // (the sink's session runs at +00:00, so a TIMESTAMP column reads it back as the same instant).
    if (typeof value === 'string' && /^(datetime|timestamp)/i.test(columnType)) return mysqlDateTime(value);
    return baseSinkValue(value, columnType);
  },
  classifyError(err: unknown): DbErrorKind | null {
    const { errno } = errorProps(err);
    return errno === undefined ? null : (kinds[errno] ?? null);
  },
  async estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number> {
    const row = (await knex('information_schema.tables')
      .select({ n: 'TABLE_ROWS' })
      .where('TABLE_NAME', table)
      .andWhere('TABLE_SCHEMA', schema ?? knex.raw('DATABASE()'))
      .first()) as { n: number | string | null } | undefined;
    return row?.n === null || row?.n === undefined
      ? dialectBase.estimateCount(knex, schema, table)
      : Number(row.n);
  },
  async knexConfig(url: string, tls?: DbTls): Promise<Knex.Config> {
    const p = urlParts(url);
    const connection: Knex.MySql2ConnectionConfig = {
      host: p.host,
      port: p.port ?? 3306,
      ...(p.user ? { user: p.user } : {}),
      ...(p.password ? { password: p.password } : {}),
      ...(p.database ? { database: p.database } : {}),
      charset: 'utf8mb4',
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      decimalNumbers: false,
      ...(p.params.get('socket') ? { socketPath: p.params.get('socket')! } : {}),
      ...mysqlSsl(tls),
    };
    return { client: 'mysql2', connection, pool: { min: 0, max: 10 } };
  },
  async sourceKnexConfig(url: string, tls?: DbTls): Promise<Knex.Config> {
    // Values as change events carry them (README "Change events"): BIGINT as a number within
    // ±2^53, DATETIME ISO without zone, TIMESTAMP ISO in UTC (the session's zone is UTC, so its
    // text is UTC), every fractional digit kept.
    const config = await mysqlDialect.knexConfig(url, tls);
    const typeCast = (field: { type: string; string(): string | null }, next: () => unknown): unknown => {
      if (field.type === 'LONGLONG') return int64(field.string());
      if (field.type === 'DATETIME') return localIso(field.string());
      if (field.type === 'TIMESTAMP') {
        const v = field.string();
        return v === null ? null : `${String(localIso(v))}Z`;
      }
      return next();
    };
    return {
      ...config,
      connection: { ...(config.connection as Knex.MySql2ConnectionConfig), typeCast },
      pool: {
        ...config.pool,
        afterCreate: (
          conn: { query(sql: string, cb: (err: Error | null) => void): void },
          done: (err: Error | null, conn: unknown) => void,
        ) =>
          // UTC for TIMESTAMP text; a long group_concat for the horizon's list of open transactions.
          conn.query("SET time_zone = '+00:00', group_concat_max_len = 4294967295", (err) => done(err, conn)),
      },
    };
  },
};

const ISO = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$/;

/** ISO-8601 text as MySQL datetime text (UTC when the text has a zone); other text as it is. */
export function mysqlDateTime(text: string): string {
  const m = ISO.exec(text);
  if (!m) return text;
  const frac = m[3] ?? '';
  if (m[4] === undefined) return `${m[1]} ${m[2]}${frac}`;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[4]}`);
  if (Number.isNaN(ms)) return text;
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}${frac}`;
}
