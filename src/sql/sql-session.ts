// A change source's connection to a SQL database (what polling and triggers share): one knex
// pool through the database's dialect, the visibility horizon, table keys, and how an event is
// put together.
import type { DbTls } from './sql-tls.js';
import type { Knex } from 'knex';
import type { SqlDialect } from './sql-dialect.js';
import { dialectForUrl } from './dialects.js';
import { makeChange, type ChangeInput, type ChangeOrigin, type SourceChange } from '../core/change-event.js';
import { ConfigError, type BridgeError } from '../core/errors.js';
import type { Logger } from '../core/source-adapter.js';
import { VERSION } from '../version.js';
import { createHorizon, type Horizon } from './horizon.js';

export interface SessionConfig {
  readonly name: string;
  readonly url: string;
  readonly lookBack?: number | undefined;
  readonly tls?: DbTls | undefined;
}

export class SqlSession {
  #knex: Knex | null = null;
  #dialect: SqlDialect | null = null;
  #horizon: Horizon | null = null;

  constructor(
    readonly cfg: SessionConfig,
    readonly connector: 'polling' | 'triggers',
    readonly log: Logger,
    /** The adapter's own classification of driver errors. */
    readonly classify: (err: unknown, context: string) => BridgeError,
  ) {}

  get dialect(): SqlDialect {
    if (!this.#dialect) throw new Error('session not open');
    return this.#dialect;
  }

  get horizon(): Horizon {
    if (!this.#horizon) throw new Error('session not open');
    return this.#horizon;
  }

  /** The look-back window in force: the configured one, else 2s where there is no log position to bound by. */
  get lookBackMs(): number {
    if (this.cfg.lookBack !== undefined) return this.cfg.lookBack;
    return this.#dialect?.defaultLookBackMs ?? 0;
  }

  /** The database name events carry in source.db. */
  get db(): string {
    return this.#dialect ? this.#dialect.databaseName(this.cfg.url) : '';
  }

  async open(): Promise<Knex> {
    if (this.#knex) return this.#knex;
    const dialect = await dialectForUrl(this.cfg.url);
    const config = await dialect.sourceKnexConfig(this.cfg.url, this.cfg.tls);
    const { default: knexFactory } = await import('knex');
    const knex = knexFactory({ ...config, pool: { min: 0, max: 4, ...(config.pool ?? {}) } });
    this.#dialect = dialect;
    this.#knex = knex;
    this.#horizon = createHorizon(dialect.horizon, knex, this.lookBackMs, (m) =>
      this.log.warn({ source: this.cfg.name }, m),
    );
    try {
      await knex.raw(dialect.pingSql);
    } catch (err) {
      throw this.classify(err, `cannot connect to ${this.cfg.name}`);
    }
    return knex;
  }

  /** Splits schema.table and returns the knex table reference. */
  split(qualified: string): { schema: string; name: string } {
    const dot = qualified.indexOf('.');
    return { schema: qualified.slice(0, dot), name: qualified.slice(dot + 1) };
  }

  /** The primary key of a table (through the REST layer's introspectors), or the configured one. */
  async keyOf(qualified: string, configured: readonly string[] | undefined): Promise<string[]> {
    if (configured && configured.length > 0) return [...configured];
    const knex = await this.open();
    const intro = this.dialect.introspector ? await this.dialect.introspector() : null;
    if (!intro)
      throw new ConfigError(
        `table ${qualified}: set key: [..] (primary keys are not read from ${this.dialect.name})`,
      );
    const { schema, name } = this.split(qualified);
    const info = await intro.describe(knex, this.dialect.introspectName(schema, name));
    if (info.columns.length === 0)
      throw new ConfigError(`table ${qualified} does not exist in source ${this.cfg.name}`);
    if (info.primaryKey.length === 0)
      throw new ConfigError(`table ${qualified} has no primary key: set key: [..] in the source's tables`);
    return [...info.primaryKey];
  }

  /** Column names of a table in declared order. */
  async columnsOf(qualified: string): Promise<{ name: string; type: string }[]> {
    const knex = await this.open();
    const { schema, name } = this.split(qualified);
    const intro = this.dialect.introspector ? await this.dialect.introspector() : null;
    if (intro) {
      const info = await intro.describe(knex, this.dialect.introspectName(schema, name));
      return info.columns.map((c) => ({ name: c.name, type: c.type }));
    }
    const rows = (await knex('INFORMATION_SCHEMA.COLUMNS')
      .select({ name: 'COLUMN_NAME', type: 'DATA_TYPE' })
      .where({ TABLE_SCHEMA: schema, TABLE_NAME: name })
      .orderBy('ORDINAL_POSITION')) as { name: string; type: string }[];
    return rows;
  }

  #origin: ChangeOrigin<'polling' | 'triggers'> | null = null;

  change(e: ChangeInput<'polling' | 'triggers'>): SourceChange {
    this.#origin ??= { connector: this.connector, source: this.cfg.name, version: VERSION, db: this.db };
    return makeChange(this.#origin, e);
  }

  async close(): Promise<void> {
    const k = this.#knex;
    this.#knex = null;
    this.#horizon = null;
    await k?.destroy().catch(() => {});
  }
}
