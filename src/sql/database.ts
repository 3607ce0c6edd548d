// One knex pool per database URL the API uses, with the dialect that speaks to it.
import type { Knex } from 'knex';
import type { SqlDialect } from './sql-dialect.js';
import { dialectForUrl } from './dialects.js';

export interface ApiDatabase {
  readonly url: string;
  readonly knex: Knex;
  readonly dialect: SqlDialect;
  /** Resolves when a trivial query succeeds (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function openDatabase(url: string): Promise<ApiDatabase> {
  const dialect = await dialectForUrl(url);
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory(await dialect.knexConfig(url));
  return {
    url,
    knex,
    dialect,
    async ping() {
      await knex.raw(dialect.pingSql);
    },
    async close() {
      await knex.destroy();
    },
  };
}
