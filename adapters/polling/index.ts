// `kind: polling`: change capture by reading tables through knex (PostgreSQL, MySQL/MariaDB,
// SQLite, SQL Server, Oracle). See README.md beside this file.
import { join } from 'node:path';
import { PreflightError } from '../../src/core/errors.js';
import {
  defaultCapabilities,
  type ChangeBatch,
  type Logger,
  type PreflightReport,
  type SourceAdapter,
  type SourceCapabilities,
  type SourceContext,
  type SourceStatus,
} from '../../src/core/source-adapter.js';
import { normalizeTable, type PollingSourceConfig } from './config.js';
import { classifyPollingError } from './polling-errors.js';
import { pollingOffsetCodec, type PollingOffset } from './polling-offset.js';
import { SqlSession } from '../../src/sql/sql-session.js';
import { firstPass } from './polling-snapshot.js';
import { StateStore } from './polling-state-store.js';
import { PollingEngine, type ResolvedTable } from './polling-streaming.js';

export class PollingAdapter implements SourceAdapter<PollingOffset> {
  readonly kind = 'polling';
  readonly capabilities: SourceCapabilities;
  readonly offsets = pollingOffsetCodec;
  readonly #s: SqlSession;
  #engine: PollingEngine | null = null;
  #store: StateStore | null = null;

  constructor(
    readonly cfg: PollingSourceConfig,
    log: Logger,
  ) {
    this.#s = new SqlSession(cfg, 'polling', log, classifyPollingError);
    const tables = cfg.tables.map(normalizeTable);
    this.capabilities = {
      ...defaultCapabilities,
      beforeImage: tables.some((t) => t.mode === 'diff') ? 'key' : 'none',
      deletes: tables.every((t) => t.mode === 'diff'),
    };
  }

  get name(): string {
    return this.cfg.name;
  }

  async preflight(): Promise<PreflightReport> {
    const problems: string[] = [];
    const warnings: string[] = [];
    const facts: Record<string, unknown> = {};
    try {
      const knex = await this.#s.open();
      facts.dialect = this.#s.dialect.name;
      facts.lookBackMs = this.#s.lookBackMs;
      for (const raw of this.cfg.tables) {
        const t = normalizeTable(raw);
        try {
          await this.#s.keyOf(t.table, t.key);
          if (t.column) await knex(t.table).select(t.column).limit(1);
          else await knex(t.table).select('*').limit(1);
        } catch (err) {
          problems.push(`${t.table}: ${(err as Error).message}`);
        }
        if (t.mode === 'incrementing')
          warnings.push(`${t.table}: incrementing mode sees inserts only (no updates, no deletes)`);
        if (t.mode === 'timestamp')
          warnings.push(`${t.table}: timestamp mode does not see deletes; use diff or triggers for them`);
      }
    } catch (err) {
      problems.push(`cannot connect: ${(err as Error).message}`);
    }
    return { ok: problems.length === 0, problems, warnings, facts };
  }

  needsSnapshot(offset: PollingOffset | null): boolean {
    if (offset === null) return this.cfg.snapshot === 'initial';
    return offset.phase === 'snapshot';
  }

  async #prepare(): Promise<PollingEngine> {
    if (this.#engine) return this.#engine;
    const knex = await this.#s.open();
    const tables: ResolvedTable[] = [];
    try {
      for (const raw of this.cfg.tables) {
        const t = normalizeTable(raw);
        const { schema, name } = this.#s.split(t.table);
        const key = await this.#s.keyOf(t.table, t.key);
        let rowversion = false;
        if (t.mode !== 'diff' && t.column) {
          const cols = await this.#s.columnsOf(t.table);
          rowversion = cols.some((c) => c.name === t.column && this.#s.dialect.isRowVersion(c.type));
        }
        tables.push({ qualified: t.table, schema, name, mode: t.mode, column: t.column, key, rowversion });
      }
    } catch (err) {
      const e = classifyPollingError(err, `cannot prepare source ${this.name}`);
      if (e.retriable) throw e;
      throw new PreflightError(`source ${this.name} is not ready`, [e.message]);
    }
    if (tables.some((t) => t.mode !== 'incrementing'))
      this.#store = await StateStore.open(join(this.cfg.stateDir, `${this.name}.sqlite`));
    this.#engine = new PollingEngine(
      this.#s,
      knex,
      tables,
      { pollInterval: this.cfg.pollInterval, chunkSize: this.cfg.chunkSize },
      this.#store,
    );
    return this.#engine;
  }

  async *snapshot(
    ctx: SourceContext,
    from: PollingOffset | null,
  ): AsyncGenerator<ChangeBatch<PollingOffset>> {
    yield* firstPass(await this.#prepare(), ctx, from);
  }

  async *stream(ctx: SourceContext, from: PollingOffset | null): AsyncGenerator<ChangeBatch<PollingOffset>> {
    const engine = await this.#prepare();
    yield* engine.run(ctx, from, 'stream');
  }

  async acknowledge(offset: PollingOffset): Promise<void> {
    // Deletes of passes before the acknowledged one are published: their tombstones can go.
    const store = this.#store;
    if (!store) return;
    this.#engine?.acknowledged(offset.seq);
    for (const [table, c] of Object.entries(offset.tables)) if (c.mode === 'diff') store.prune(table, c.pass);
  }

  async status(committed: PollingOffset | null): Promise<SourceStatus> {
    return {
      facts: {
        tables: this.cfg.tables.map((t) => normalizeTable(t)),
        pollIntervalMs: this.cfg.pollInterval,
        committed: committed ? this.offsets.describe(committed) : null,
      },
    };
  }

  async close(): Promise<void> {
    this.#engine = null;
    this.#store?.close();
    this.#store = null;
    await this.#s.close();
  }
}

export function createPollingAdapter(cfg: PollingSourceConfig, log: Logger): PollingAdapter {
  return new PollingAdapter(cfg, log);
}
