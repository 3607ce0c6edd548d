// SQLite through knex + better-sqlite3. URLs: sqlite:./file.db, sqlite:///abs/file.db, sqlite::memory:.
import type { Knex } from 'knex';
import { basename } from 'node:path';
import {
  baseSinkValue,
  dialectBase,
  errorProps,
  onConflictUpsert,
  type DbErrorKind,
  type SqlDialect,
} from '../sql-dialect.js';
import { sqliteTriggerCapture } from './sqlite-triggers.js';

const kinds: Record<string, DbErrorKind> = {
  SQLITE_CONSTRAINT_UNIQUE: 'unique',
  SQLITE_CONSTRAINT_PRIMARYKEY: 'unique',
  SQLITE_CONSTRAINT_FOREIGNKEY: 'foreignKey',
  SQLITE_CONSTRAINT_NOTNULL: 'notNull',
  SQLITE_CONSTRAINT_CHECK: 'check',
  SQLITE_MISMATCH: 'invalidValue',
  SQLITE_TOOBIG: 'invalidValue',
  SQLITE_BUSY: 'concurrency',
};

/** The file name of a sqlite: URL. */
export function sqliteFilename(url: string): string {
  const rest = url.replace(/^sqlite3?:/, '');
  if (rest === ':memory:' || rest === '//:memory:') return ':memory:';
  return rest.startsWith('//') ? rest.slice(2) : rest;
}

export const sqliteDialect: SqlDialect = {
  ...dialectBase,
  name: 'sqlite',
  client: 'better-sqlite3',
  rowLocks: false,
  // One writer at a time and no log position: the look-back window covers values the application computes.
  defaultLookBackMs: 2000,
  triggers: sqliteTriggerCapture,
  upsert: onConflictUpsert,
  // better-sqlite3 binds no booleans: SQLite stores them as 1/0.
  sinkValue: (value: unknown, columnType: string) =>
    typeof value === 'boolean' ? (value ? 1 : 0) : baseSinkValue(value, columnType),
  databaseName: (url: string) => basename(sqliteFilename(url)).replace(/\.[^.]*$/, '') || 'main',
  rawRows: (result) => result as Record<string, unknown>[], // better-sqlite3's all()
  introspector: async () => (await import('./sqlite-introspector.js')).sqliteIntrospector,
  classifyError(err: unknown): DbErrorKind | null {
    const { code } = errorProps(err);
    return code === undefined ? null : (kinds[code] ?? null);
  },
  /** The file is locked by another writer past busy_timeout: try again later. */
  isUnavailable(err: unknown): boolean {
    const { code } = errorProps(err);
    return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' || dialectBase.isUnavailable(err);
  },
  async knexConfig(url: string): Promise<Knex.Config> {
    return {
      client: 'better-sqlite3',
      connection: { filename: sqliteFilename(url) },
      useNullAsDefault: true,
      pool: {
        // A legacy application may hold the file: wait for its locks instead of failing at once.
        afterCreate: (
          conn: { pragma(s: string): unknown },
          done: (err: Error | null, conn: unknown) => void,
        ) => {
          conn.pragma('busy_timeout = 5000');
          done(null, conn);
        },
      },
    };
  },
  async sourceKnexConfig(url: string): Promise<Knex.Config> {
    // 64-bit integers exact (README "Change events"): read as BigInt, then a number within ±2^53
    // and the digits beyond (src/sql/sql-values.ts); better-sqlite3 would round them otherwise.
    const config = await sqliteDialect.knexConfig(url);
    const inner = (
      config.pool as {
        afterCreate: (conn: unknown, done: (err: Error | null, conn: unknown) => void) => void;
      }
    ).afterCreate;
    return {
      ...config,
      pool: {
        ...config.pool,
        afterCreate: (
          conn: { defaultSafeIntegers(on: boolean): unknown },
          done: (err: Error | null, conn: unknown) => void,
        ) => {
          conn.defaultSafeIntegers(true);
          inner(conn, done);
        },
      },
    };
  },
};
