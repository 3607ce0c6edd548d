// The migrations sluice installs in a database the REST API writes to, as a knex MigrationSource
// (listed in code, so they run the same from TypeScript sources and from a build).
import type { Knex } from 'knex';
import * as idempotency from './20250101000000_idempotency.js';

interface ApiMigration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const all: readonly ApiMigration[] = [idempotency];

export const apiMigrationSource: Knex.MigrationSource<ApiMigration> = {
  getMigrations: async () => [...all],
  getMigrationName: (m) => m.name,
  getMigration: async (m) => m,
};

/** knex bookkeeping table of these migrations (kept apart from any other knex user's). */
export const apiMigrationTable = 'sluice_api_migrations';
