// PostgreSQL through knex + pg. Date/time types stay text (pg-types would turn them into JS Dates,
// dropping microseconds and applying the process zone: adapters/postgres/README.md).
import type { Knex } from 'knex';
import { postgresChunkHash } from './postgres-checksum.js';
import {
  baseSinkValue,
  dialectBase,
  errorProps,
  onConflictUpsert,
  type DbErrorKind,
  type SqlDialect,
} from '../sql-dialect.js';
import { int64, localIso, utcIso } from '../changelog-values.js';
import { postgresHorizon } from './postgres-horizon.js';
import { nodeTlsOptions, type DbTls } from '../sql-tls.js';
import { moneyDigits, postgresTriggerCapture } from './postgres-triggers.js';

const textTypes = new Set([1082, 1083, 1114, 1184, 1266]); // date, time, timestamp, timestamptz, timetz
const INT8 = 20;
const MONEY = 790;
const TIMESTAMP = 1114;
const TIMESTAMPTZ = 1184;

/**
 * node-postgres reports a lost or timed-out connection with these errors, which carry no code (the
 * server never answered): their exact texts are the only thing to tell them by.
 */
const pgConnectionLost = new Set([
  'Connection terminated unexpectedly',
  'Connection terminated',
  'Connection terminated due to connection timeout',
  'Client has encountered a connection error and is not queryable',
]);

/**
 * node-postgres `ssl` for a source's or sink's `tls` (libpq's sslmode semantics: verify-full
 * checks chain and host name). Absent: nothing, so an `sslmode` in the URL still decides.
 */
export function postgresSsl(tls: DbTls | undefined): { ssl?: false | object } {
  if (!tls) return {};
  return { ssl: nodeTlsOptions(tls) ?? false };
}

export const postgresDialect: SqlDialect = {
  ...dialectBase,
  name: 'postgres',
  nullsSortHigh: true,
  client: 'pg',
  horizon: postgresHorizon,
  triggers: postgresTriggerCapture,
  introspectName: (schema: string, table: string) => `${schema}.${table}`,
  upsert: onConflictUpsert,
  chunkHashSql: postgresChunkHash,
  sinkMarks: 'origin',
  rowCommitTime: {
    // The commit time of the transaction that wrote the row's current version (its xmin): kept
    // only with track_commit_timestamp = on, and null for a version older than that setting.
    sql: 'pg_xact_commit_timestamp(xmin)',
    async check(knex: Knex): Promise<string | null> {
      const r = await knex.raw<{ rows: { track_commit_timestamp: string }[] }>('SHOW track_commit_timestamp');
      return r.rows[0]?.track_commit_timestamp === 'on'
        ? null
        : 'track_commit_timestamp is off on the target (set it on and restart PostgreSQL)';
    },
  },
  // An array column takes a JS array (pg writes the array literal); json/jsonb take JSON text.
  sinkValue: (value: unknown, columnType: string) =>
    columnType === 'ARRAY' && Array.isArray(value) ? value : baseSinkValue(value, columnType),
  rawRows: (result) => (result as { rows: Record<string, unknown>[] }).rows, // a pg Result
  queryOnConnection: async (connection, text, values) => {
    const client = connection as {
      query(q: { text: string; values: readonly unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
    };
    return (await client.query({ text, values })).rows;
  },
  introspector: async () => (await import('./postgres-introspector.js')).postgresIntrospector,
  isUnavailable(err: unknown): boolean {
    if (dialectBase.isUnavailable(err)) return true;
    const { code, message } = errorProps(err);
    // 08: connection exceptions; 57P01-03: admin shutdown, crash shutdown, cannot connect now;
    // 53300: too many connections.
    if (code !== undefined) return /^08/.test(code) || /^57P0[123]$/.test(code) || code === '53300';
    return pgConnectionLost.has(message);
  },
  classifyError(err: unknown): DbErrorKind | null {
    const { code } = errorProps(err);
    if (code === undefined || !/^[0-9A-Z]{5}$/.test(code)) return null;
    if (code === '23505') return 'unique';
    if (code === '23503') return 'foreignKey';
    if (code === '23502') return 'notNull';
    if (code === '23514') return 'check';
    if (code === '40001' || code === '40P01' || code === '55P03') return 'concurrency'; // serialization, deadlock, lock not available
    if (code.startsWith('22')) return 'invalidValue'; // data exceptions: too long, out of range, bad text
    return null;
  },
  whereILike(qb: Knex.QueryBuilder, column: string, pattern: string, negate: boolean): void {
    qb.whereRaw(negate ? '?? NOT ILIKE ?' : '?? ILIKE ?', [column, pattern]);
  },
  async estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number> {
    const name = schema ? `${schema}.${table}` : table;
    const res = await knex.raw<{ rows: { n: string }[] }>(
      'SELECT reltuples::bigint AS n FROM pg_class WHERE oid = to_regclass(?)',
      [name],
    );
    const n = Number(res.rows[0]?.n ?? -1);
    return n >= 0 ? n : dialectBase.estimateCount(knex, schema, table); // -1: never analysed
  },
  async knexConfig(url: string, tls?: DbTls): Promise<Knex.Config> {
    const pg = (await import('pg')).default;
    const types = {
      getTypeParser: (oid: number, format?: 'text' | 'binary') =>
        textTypes.has(oid) ? (v: string) => v : pg.types.getTypeParser(oid, format ?? 'text'),
    };
    return {
      client: 'pg',
      connection: { connectionString: url, types, ...postgresSsl(tls) } as Knex.PgConnectionConfig,
      pool: { min: 0, max: 10 },
    };
  },
  async sinkKnexConfig(url: string, origin: string | null, tls?: DbTls): Promise<Knex.Config> {
    const config = await postgresDialect.sourceKnexConfig(url, tls);
    if (origin === null) return config;
    // Every session of the sink writes under its replication origin: the commit records it, and a
    // postgres source capturing this database reads it back (pgoutput's Origin message).
    type Conn = { query(sql: string, params: unknown[], cb: (err: Error | null) => void): void };
    const setup = (conn: Conn, done: (err: Error | null, conn: Conn) => void) =>
      conn.query('SELECT pg_replication_origin_session_setup($1)', [origin], (err) => done(err, conn));
    return {
      ...config,
      pool: {
        ...config.pool,
        afterCreate: (conn: Conn, done: (err: Error | null, conn: Conn) => void) =>
          conn.query(
            'SELECT pg_replication_origin_create($1) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)',
            [origin],
            // Another session may have created it meanwhile (unique violation): use it.
            (err) => (err && errorProps(err).code !== '23505' ? done(err, conn) : setup(conn, done)),
          ),
      },
    };
  },
  async sourceKnexConfig(url: string, tls?: DbTls): Promise<Knex.Config> {
    // Values as change events carry them (README "Change events"), the same as the postgres
    // source's: int8 as a number within ±2^53, timestamps ISO (UTC `Z` when zoned, every digit),
    // money as its digits; every other type as REST reads it.
    const config = await postgresDialect.knexConfig(url, tls);
    const conn = config.connection as {
      types: { getTypeParser(oid: number, f?: 'text' | 'binary'): (v: string) => unknown };
    };
    const inner = conn.types;
    const parsers: Record<number, (v: string) => unknown> = {
      [INT8]: (v) => int64(v),
      [MONEY]: (v) => moneyDigits(v),
      [TIMESTAMP]: (v) => localIso(v),
      [TIMESTAMPTZ]: (v) => utcIso(v),
    };
    conn.types = { getTypeParser: (oid, f) => parsers[oid] ?? inner.getTypeParser(oid, f) };
    return config;
  },
};
