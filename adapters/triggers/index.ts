// `kind: triggers`: capture triggers write a changelog table (installed by `sluice migrate`); this
// adapter reads it in commit-safe order, publishes, and prunes what is acknowledged.
// See README.md beside this file.
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
import { SqlSession } from '../../src/sql/sql-session.js';
import { sleep } from '../../src/util/sleep.js';
import type { KeyedTable } from '../../src/sql/keyset.js';
import { tableOf, type TriggersSourceConfig } from './config.js';
import { classifyTriggersError } from './triggers-errors.js';
import { triggersOffsetCodec, type TriggersOffset } from './triggers-offset.js';
import { snapshotTables } from './triggers-snapshot.js';
import { ChangelogReader, type ChangelogCursor } from './triggers-streaming.js';
import { changelogName, triggerPlan } from './triggers-plan.js';

export class TriggersAdapter implements SourceAdapter<TriggersOffset> {
  readonly kind = 'triggers';
  readonly capabilities: SourceCapabilities = { ...defaultCapabilities, beforeImage: 'full', deletes: true };
  readonly offsets = triggersOffsetCodec;
  readonly s: SqlSession;
  #reader: ChangelogReader | null = null;
  #tables: KeyedTable[] = [];

  constructor(
    readonly cfg: TriggersSourceConfig,
    log: Logger,
  ) {
    this.s = new SqlSession(cfg, 'triggers', log, classifyTriggersError);
  }

  get name(): string {
    return this.cfg.name;
  }

  async preflight(): Promise<PreflightReport> {
    const problems: string[] = [];
    const facts: Record<string, unknown> = {};
    try {
      const knex = await this.s.open();
      facts.dialect = this.s.dialect.name;
      const cl = await changelogName(this.s, this.cfg);
      const exists = await knex(`${cl.schema}.${cl.name}`)
        .select(knex.raw('1'))
        .whereRaw('1 = 0')
        .then(
          () => true,
          () => false,
        );
      if (!exists)
        problems.push(
          `changelog table ${cl.schema}.${cl.name} is missing: run \`sluice migrate ${this.name}\``,
        );
      for (const raw of this.cfg.tables) {
        const t = tableOf(raw);
        try {
          await this.s.keyOf(t.table, t.key);
        } catch (err) {
          problems.push(`${t.table}: ${(err as Error).message}`);
        }
      }
    } catch (err) {
      problems.push(`cannot connect: ${(err as Error).message}`);
    }
    return { ok: problems.length === 0, problems, warnings: [], facts };
  }

  needsSnapshot(offset: TriggersOffset | null): boolean {
    if (offset === null) return this.cfg.snapshot === 'initial';
    return offset.phase === 'snapshot';
  }

  async #prepare(): Promise<ChangelogReader> {
    if (this.#reader) return this.#reader;
    const knex = await this.s.open();
    const report = await this.preflight();
    if (!report.ok) throw new PreflightError(`source ${this.name} is not ready`, report.problems);
    // Column types convert changelog values; a database without an introspector has none (values pass as parsed).
    const plan = await triggerPlan(this.s, this.cfg, this.s.dialect.introspector !== undefined);
    this.#tables = plan.tables.map((t) => ({
      qualified: t.qualified,
      schema: t.schema,
      name: t.name,
      key: [...t.key],
      mode: 'diff',
      rowversion: false,
    }));
    const types = new Map(plan.tables.map((t) => [t.qualified, t.types ?? {}]));
    this.#reader = new ChangelogReader(
      this.s,
      knex,
      this.cfg.changelog,
      plan.changelog,
      this.cfg.chunkSize,
      types,
    );
    return this.#reader;
  }

  async *snapshot(
    ctx: SourceContext,
    from: TriggersOffset | null,
  ): AsyncGenerator<ChangeBatch<TriggersOffset>> {
    try {
      const reader = await this.#prepare();
      yield* snapshotTables(
        this.s,
        reader,
        this.#tables,
        ctx,
        from,
        this.cfg.chunkSize,
        this.cfg.pollInterval,
      );
    } catch (err) {
      if (!ctx.signal.aborted) throw classifyTriggersError(err, `snapshot of ${this.name} failed`);
    }
  }

  async *stream(
    ctx: SourceContext,
    from: TriggersOffset | null,
  ): AsyncGenerator<ChangeBatch<TriggersOffset>> {
    try {
      const reader = await this.#prepare();
      const cl = this.cfg.changelog;
      const state: TriggersOffset = from
        ? structuredClone(from)
        : { phase: 'stream', seq: 0, tables: { [cl]: { mode: 'changelog', last: null, pending: null } } };
      const c = state.tables[cl] as ChangelogCursor;
      if (!from) await reader.skipToEnd(c, ctx.signal, this.cfg.pollInterval);
      while (!ctx.signal.aborted) {
        const { entries, more } = await reader.page(c);
        if (entries.length > 0) {
          state.seq++;
          const changes = entries.map((e) => {
            const { schema, name } = this.s.split(e.tbl);
            // <txid>/<seq> where the changelog has a transaction id and is read in seq order
            // (PostgreSQL: the id earlier versions gave these entries), else the seq alone.
            const position = `${cl}:${e.txid !== undefined && reader.order === 'seq' ? `${e.txid}/` : ''}${e.seq}`;
            return this.s.change({
              op: e.op,
              schema,
              table: name,
              before: e.before,
              after: e.after,
              key: e.key,
              tsMs: Date.now(),
              snapshot: 'false',
              txId: e.txid,
              seq: e.seq,
              position,
              index: 0,
            });
          });
          yield { changes, offset: structuredClone(state) };
        }
        if (!more) await sleep(this.cfg.pollInterval, ctx.signal);
      }
    } catch (err) {
      if (!ctx.signal.aborted)
        throw classifyTriggersError(err, `reading the changelog of ${this.name} failed`);
    }
  }

  async acknowledge(offset: TriggersOffset): Promise<void> {
    if (offset.phase !== 'stream' || !this.#reader) return;
    const c = offset.tables[this.cfg.changelog];
    if (c?.mode !== 'changelog' || !c.last) return;
    await this.#reader
      .prune(c.last)
      .catch((err: unknown) =>
        this.s.log.warn(
          { err: (err as Error).message },
          'pruning the changelog failed; retried at the next acknowledgement',
        ),
      );
  }

  async status(committed: TriggersOffset | null): Promise<SourceStatus> {
    const facts: Record<string, unknown> = {
      changelog: this.cfg.changelog,
      committed: committed ? this.offsets.describe(committed) : null,
    };
    try {
      const knex = await this.s.open();
      const cl = await changelogName(this.s, this.cfg);
      const r = (await knex(`${cl.schema}.${cl.name}`).count({ n: '*' }).first()) as
        { n: number | string } | undefined;
      facts.changelogRows = Number(r?.n ?? 0);
    } catch (err) {
      facts.error = (err as Error).message;
    }
    return { facts };
  }

  async close(): Promise<void> {
    this.#reader = null;
    await this.s.close();
  }
}

export function createTriggersAdapter(cfg: TriggersSourceConfig, log: Logger): TriggersAdapter {
  return new TriggersAdapter(cfg, log);
}
