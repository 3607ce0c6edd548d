// SQL Server through knex's `mssql` client, which drives `tedious` (the driver under the `mssql`
// package, a dependency). tedious loads only when knex opens a pool for an mssql:// URL.
import type { Knex } from 'knex';
import { br } from '../quote.js';
import {
  dialectBase,
  mergeUpsert,
  numberedErrors,
  type MergeSyntax,
  urlParts,
  type DbErrorKind,
  type SqlDialect,
} from '../sql-dialect.js';
import { mssqlHorizon } from './mssql-horizon.js';
import { mssqlTriggerCapture } from './mssql-triggers.js';
import { ConfigError } from '../../core/errors.js';
import { readPem, type DbTls } from '../sql-tls.js';

const kinds: Record<number, DbErrorKind> = {
  2627: 'unique',
  2601: 'unique',
  547: 'foreignKey', // also raised for CHECK conflicts; both are a client's 409/422
  515: 'notNull',
  8152: 'invalidValue', // string or binary data would be truncated
  2628: 'invalidValue',
  245: 'invalidValue', // conversion failed
  8114: 'invalidValue',
  220: 'invalidValue', // arithmetic overflow
  8115: 'invalidValue',
  241: 'invalidValue', // date conversion
  1205: 'concurrency', // deadlock victim
};

/**
 * MERGE ... WITH (HOLDLOCK): two concurrent MERGEs of one key cannot both insert. A batch must
 * stay under SQL Server's 2,100 parameters (rows × columns).
 */
const merge: MergeSyntax = {
  ident: (name) => `[${name.replace(/]/g, ']]').replace(/\?/g, '\\?')}]`,
  source: (cols, rows) =>
    `(VALUES ${Array.from({ length: rows }, () => `(${cols.map(() => '?').join(', ')})`).join(', ')}) AS s (${cols.map(merge.ident).join(', ')})`,
  targetAlias: 'WITH (HOLDLOCK) AS ',
  end: ';',
};

// tedious ConnectionError/RequestError codes for a server that cannot be reached or went away
// (ELOGIN, a refused login, is not among them: retrying does not fix a password).
const unreachableCodes = new Set(['ESOCKET', 'ETIMEOUT', 'ECLOSE', 'EINSTLOOKUP']);
// Server error numbers of a database that is failing over or not accepting sessions yet.
const unreachableNumbers = new Set([233, 10053, 10054, 10060, 40197, 40501, 40613]);

/** `?encrypt=true|false` style flags; anything else is a usage error, not a silent default. */
function flag(params: URLSearchParams, name: string, fallback: boolean): boolean {
  const v = params.get(name);
  if (v === null) return fallback;
  if (/^(true|yes|1)$/i.test(v)) return true;
  if (/^(false|no|0)$/i.test(v)) return false;
  throw new ConfigError(`mssql:// URL: ${name}=${v} is not true or false`, [`${name}: not a boolean`]);
}

/**
 * tedious `encrypt`/`trustServerCertificate` for a source's or sink's `tls` (over the URL's
 * flags). tedious checks the host name whenever it checks the chain, so verify-ca is verify-full
 * here; `ca`/`cert`/`key` go to its secure context.
 */
export function mssqlTlsOptions(tls: DbTls | undefined): Record<string, unknown> {
  if (!tls) return {};
  if (tls.mode === 'disable') return { encrypt: false };
  const details = {
    ...(tls.ca ? { ca: readPem(tls.ca, 'ca') } : {}),
    ...(tls.cert ? { cert: readPem(tls.cert, 'cert') } : {}),
    ...(tls.key ? { key: readPem(tls.key, 'key') } : {}),
  };
  return {
    encrypt: true,
    trustServerCertificate: tls.mode === 'require',
    ...(Object.keys(details).length > 0 ? { cryptoCredentialsDetails: details } : {}),
    ...(tls.servername ? { serverName: tls.servername } : {}),
  };
}

export const mssqlDialect: SqlDialect = {
  ...dialectBase,
  name: 'mssql',
  quoteIdentifier: br,
  client: 'mssql',
  horizon: mssqlHorizon,
  triggers: mssqlTriggerCapture,
  isRowVersion: (type: string) => /^(timestamp|rowversion)$/i.test(type),
  upsert: (knex, table, rows, key) => mergeUpsert(merge, knex, table, rows, key),
  ...numberedErrors('number', kinds, unreachableCodes, unreachableNumbers),
  introspector: async () => (await import('./mssql-introspector.js')).mssqlIntrospector,
  async estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number> {
    const rows = await knex.raw<{ n: number | null }[]>(
      'SELECT SUM(p.row_count) AS n FROM sys.dm_db_partition_stats p WHERE p.object_id = OBJECT_ID(?) AND p.index_id IN (0, 1)',
      [schema ? `${schema}.${table}` : table],
    );
    return Number(rows[0]?.n ?? 0);
  },
  /**
   * mssql://user:password@host[:port]/database[?encrypt=true&trustServerCertificate=false&instanceName=SQLEXPRESS]:
   * encrypt defaults to false and trustServerCertificate to true (legacy servers rarely have a
   * trusted certificate); knex passes `options` through to tedious.
   */
  async knexConfig(url: string, tls?: DbTls): Promise<Knex.Config> {
    const p = urlParts(url);
    const instanceName = p.params.get('instanceName');
    return {
      client: 'mssql',
      connection: {
        server: p.host,
        port: p.port ?? 1433,
        ...(p.user ? { user: p.user } : {}),
        ...(p.password ? { password: p.password } : {}),
        ...(p.database ? { database: p.database } : {}),
        options: {
          encrypt: flag(p.params, 'encrypt', false),
          trustServerCertificate: flag(p.params, 'trustServerCertificate', true),
          ...(instanceName ? { instanceName } : {}),
          ...mssqlTlsOptions(tls),
        },
      },
      pool: { min: 0, max: 10 },
    };
  },
};
