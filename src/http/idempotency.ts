// Idempotency-Key on POST, kept durably in the database (table sluice_idempotency, installed by
// migrations/api). The record is written in the same transaction as the insert, so a crash never
// leaves a key without its row or a row without its key; a concurrent duplicate waits on the
// primary key and then replays the committed response. The table is only ever created by the
// explicit `sluice migrate --api` (docs/rest-api.md): serving never changes the legacy schema, and
// without the table Idempotency-Key requests get a 501 problem saying what to run.
import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { apiMigrationSource, apiMigrationTable } from '../../migrations/api/index.js';
import type { ApiDatabase } from '../sql/database.js';
import { ConflictProblem, IdempotencyNotInstalledProblem, UnprocessableProblem } from './problem.js';

export const idempotencyTable = 'sluice_idempotency';
const table = idempotencyTable;

export interface StoredResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

/** A concurrent request holds the same key and has not finished. */
class IdempotencyRace extends Error {}

export function requestFingerprint(body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(body ?? null))
    .digest('hex');
}

export class IdempotencyStore {
  private lastPurge = 0;

  constructor(
    private readonly db: ApiDatabase,
    private readonly ttlMs: number,
    private readonly onError: (err: unknown) => void = () => {},
  ) {}

  /** Set once the table was seen: it is not looked up again. */
  private installed = false;

  /**
   * Creates the table if missing (knex migrations, own bookkeeping tables
   * sluice_api_migrations and sluice_api_migrations_lock). Only `sluice migrate --api` calls it.
   * Returns the migrations run.
   */
  async install(): Promise<string[]> {
    const [, names] = (await this.db.knex.migrate.latest({
      migrationSource: apiMigrationSource,
      tableName: apiMigrationTable,
    })) as [number, string[]];
    return names;
  }

  /** Drops the table and the migration bookkeeping (`sluice migrate --api --down`). */
  async uninstall(): Promise<string[]> {
    const knex = this.db.knex;
    const done: string[] = [];
    if (await knex.schema.hasTable(apiMigrationTable)) {
      const [, names] = (await knex.migrate.rollback(
        { migrationSource: apiMigrationSource, tableName: apiMigrationTable },
        true,
      )) as [number, string[]];
      done.push(...names);
      await knex.schema.dropTableIfExists(apiMigrationTable);
      await knex.schema.dropTableIfExists(`${apiMigrationTable}_lock`);
      done.push(apiMigrationTable, `${apiMigrationTable}_lock`);
    }
    this.installed = false;
    return done;
  }

  /** Whether the table exists: a catalog read, never DDL. */
  async isInstalled(): Promise<boolean> {
    if (!this.installed) this.installed = await this.db.knex.schema.hasTable(table);
    return this.installed;
  }

  /** The live record of a key; an expired one is deleted (outside any transaction: no gap locks). */
  private async find(
    scope: string,
    key: string,
  ): Promise<{ fingerprint: string; status: number; response: string } | undefined> {
    const rows: { fingerprint: string; status: number; response: string; created_ms: number | string }[] =
      await this.db
        .knex(table)
        .where({ scope, idem_key: key })
        .select('fingerprint', 'status', 'response', 'created_ms');
    const row = rows[0];
    if (row && Number(row.created_ms) < Date.now() - this.ttlMs) {
      await this.db.knex(table).where({ scope, idem_key: key, created_ms: row.created_ms }).delete();
      return undefined;
    }
    return row;
  }

  private replay(
    found: { fingerprint: string; status: number; response: string },
    fingerprint: string,
  ): StoredResponse {
    if (found.fingerprint !== fingerprint)
      throw new UnprocessableProblem('this Idempotency-Key was used with a different request body');
    const r = JSON.parse(found.response) as { headers: Record<string, string>; body: unknown };
    return {
      status: Number(found.status),
      headers: { ...r.headers, 'idempotent-replayed': 'true' },
      body: r.body,
    };
  }

  /**
   * Runs `work` once per (scope, key): a repeat returns the stored response. `work` gets the
   * transaction to write in and returns the response to store.
   */
  async run(
    scope: string,
    key: string,
    fingerprint: string,
    work: (trx: Knex.Transaction) => Promise<StoredResponse>,
  ): Promise<StoredResponse> {
    if (!(await this.isInstalled()))
      throw new IdempotencyNotInstalledProblem(
        `Idempotency-Key needs the table ${table}, which is not installed in this database; ` +
          'an operator installs it with `sluice migrate --api` (or send the request without Idempotency-Key)',
      );
    this.maybePurge();
    const found = await this.find(scope, key);
    if (found) return this.replay(found, fingerprint);
    try {
      return await this.db.knex.transaction(async (trx) => {
        try {
          await trx(table).insert({
            scope,
            idem_key: key,
            fingerprint,
            status: 0,
            response: '{}',
            created_ms: Date.now(),
          });
        } catch (err) {
          const kind = this.db.dialect.classifyError(err);
          if (kind === 'unique' || kind === 'concurrency') throw new IdempotencyRace();
          throw err;
        }
        const res = await work(trx);
        await trx(table)
          .where({ scope, idem_key: key })
          .update({ status: res.status, response: JSON.stringify({ headers: res.headers, body: res.body }) });
        return res;
      });
    } catch (err) {
      if (!(err instanceof IdempotencyRace)) throw err;
      const now = await this.find(scope, key);
      if (now && Number(now.status) !== 0) return this.replay(now, fingerprint);
      throw new ConflictProblem('a request with this Idempotency-Key is still being processed; retry later');
    }
  }

  /** Deletes expired records, at most once a minute, off the request path. */
  private maybePurge(): void {
    const now = Date.now();
    if (now - this.lastPurge < 60_000) return;
    this.lastPurge = now;
    this.db
      .knex(table)
      .where('created_ms', '<', now - this.ttlMs)
      .delete()
      .then(
        () => {},
        (err: unknown) => this.onError(err),
      );
  }
}
