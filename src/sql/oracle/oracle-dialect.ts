// Oracle through knex's `oracledb` client and node-oracledb in Thin mode (pure JavaScript, no
// Oracle Client libraries: nothing here calls initOracleClient). oracledb loads only when knex
// opens a pool for an oracle:// URL. Thin mode needs Oracle Database 12.1 or later.
import type { Knex } from 'knex';
import {
  dialectBase,
  mergeUpsert,
  numberedErrors,
  type MergeSyntax,
  urlParts,
  type DbErrorKind,
  type SqlDialect,
} from '../sql-dialect.js';
import { oracleHorizon } from './oracle-horizon.js';
import { oracleTriggerCapture } from './oracle-triggers.js';
import type { DbTls } from '../sql-tls.js';

const kinds: Record<number, DbErrorKind> = {
  1: 'unique', // ORA-00001
  2291: 'foreignKey',
  2292: 'foreignKey',
  1400: 'notNull',
  1407: 'notNull',
  2290: 'check',
  12899: 'invalidValue', // value too large for column
  1722: 'invalidValue', // invalid number
  1438: 'invalidValue', // precision exceeded
  1840: 'invalidValue',
  1841: 'invalidValue',
  1861: 'invalidValue',
  60: 'concurrency', // deadlock
  8177: 'concurrency', // cannot serialize
};

/** MERGE over the rows as SELECT ... FROM dual joined by UNION ALL. */
const merge: MergeSyntax = {
  ident: (name) => `"${name.replace(/"/g, '""').replace(/\?/g, '\\?')}"`,
  source: (cols, rows) =>
    `(${Array.from({ length: rows }, (_, i) =>
      i === 0
        ? `SELECT ${cols.map((c) => `? AS ${merge.ident(c)}`).join(', ')} FROM dual`
        : `SELECT ${cols.map(() => '?').join(', ')} FROM dual`,
    ).join(' UNION ALL ')}) s`,
  targetAlias: '',
  end: '',
};

// node-oracledb Thin's own codes for a connection that could not be made or was lost
// (NJS-500 closed, 501 lost contact, 503 not established, 504 proxy, 510 timed out, 511 refused,
// 521 end of file).
const unreachableCodes = new Set([
  'NJS-500',
  'NJS-501',
  'NJS-503',
  'NJS-504',
  'NJS-510',
  'NJS-511',
  'NJS-521',
]);
// ORA- numbers of a database that is starting, stopping or unreachable through its listener.
const unreachableNumbers = new Set([
  1033, 1034, 1089, 1090, 3113, 3114, 3135, 12170, 12514, 12528, 12537, 12541, 12547,
]);

/**
 * node-oracledb Thin TCPS options: the trusted CA comes from a wallet directory (ewallet.pem),
 * or the system CAs without one; verify-full matches the server certificate's DN to the host.
 * Thin mode always checks the chain, so `require` is verify-ca here.
 */
export function oracleTlsOptions(tls: DbTls | undefined): Record<string, unknown> {
  if (!tls || tls.mode === 'disable') return {};
  return {
    sslServerDNMatch: tls.mode === 'verify-full',
    ...(tls.wallet ? { walletLocation: tls.wallet, configDir: tls.wallet } : {}),
    ...(tls.walletPassword ? { walletPassword: tls.walletPassword } : {}),
  };
}

export const oracleDialect: SqlDialect = {
  ...dialectBase,
  name: 'oracle',
  nullsSortHigh: true,
  client: 'oracledb',
  pingSql: 'SELECT 1 FROM DUAL',
  horizon: oracleHorizon,
  triggers: oracleTriggerCapture,
  upsert: (knex, table, rows, key) => mergeUpsert(merge, knex, table, rows, key),
  ...numberedErrors('errorNum', kinds, unreachableCodes, unreachableNumbers),
  introspector: async () => (await import('./oracle-introspector.js')).oracleIntrospector,
  async estimateCount(knex: Knex, schema: string | undefined, table: string): Promise<number> {
    const q = knex('ALL_TABLES').select({ n: 'NUM_ROWS' }).where('TABLE_NAME', table.toUpperCase());
    if (schema) q.andWhere('OWNER', schema.toUpperCase());
    const row = (await q.first()) as { n: number | null } | undefined;
    return row?.n === null || row?.n === undefined
      ? dialectBase.estimateCount(knex, schema, table)
      : Number(row.n);
  },
  /** oracle://user:password@host[:port]/service_name: an Easy Connect string for Thin mode. */
  async knexConfig(url: string, tls?: DbTls): Promise<Knex.Config> {
    const p = urlParts(url);
    const secure = tls !== undefined && tls.mode !== 'disable';
    return {
      client: 'oracledb',
      connection: {
        ...(p.user ? { user: p.user } : {}),
        ...(p.password ? { password: p.password } : {}),
        connectString: `${secure ? 'tcps://' : ''}${p.host}:${p.port ?? (secure ? 2484 : 1521)}/${p.database ?? 'FREEPDB1'}`,
        ...oracleTlsOptions(tls),
      },
      pool: { min: 0, max: 10 },
    };
  },
};
