// `kind: postgres`: logical replication with pgoutput. See README.md beside this file.
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
import type { PostgresSourceConfig } from './config.js';
import { ensurePublication, publicationTables, resolveTables, slotInfo } from './postgres-catalog.js';
import { classifyPgError } from './postgres-errors.js';
import { pgOffsetCodec, type PgOffset } from './postgres-offset.js';
import { runPreflight } from './postgres-preflight.js';
import { PgSession } from './postgres-session.js';
import { snapshot } from './postgres-snapshot.js';
import { RESNAPSHOT_PREFIX } from './postgres-resnapshot.js';
import { HEARTBEAT_PREFIX, PgReplicationStream } from './postgres-streaming.js';

export class PostgresAdapter implements SourceAdapter<PgOffset> {
  readonly kind = 'postgres';
  readonly capabilities: SourceCapabilities = {
    ...defaultCapabilities,
    beforeImage: 'key', // 'full' for tables with REPLICA IDENTITY FULL
    transactions: true,
    truncate: true,
    schemaChanges: true,
    origins: 'replication-origin', // a Sluice sink's writes carry its replication origin
  };
  readonly offsets = pgOffsetCodec;
  readonly #s: PgSession;
  #stream: PgReplicationStream | null = null;
  #prepared = false;
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(cfg: PostgresSourceConfig, log: Logger) {
    this.#s = new PgSession(cfg, log);
  }

  get name(): string {
    return this.#s.cfg.name;
  }

  get slot(): string {
    return this.#s.slot;
  }

  preflight(): Promise<PreflightReport> {
    return runPreflight(this.#s);
  }

  needsSnapshot(offset: PgOffset | null): boolean {
    if (offset === null) return this.#s.cfg.snapshot === 'initial';
    return offset.snapshot !== undefined;
  }

  /** Resolves the tables, checks prerequisites and makes sure the publication covers the tables. */
  async #prepare(): Promise<void> {
    if (this.#prepared) return;
    const report = await this.preflight();
    if (!report.ok) throw new PreflightError(`source ${this.name} is not ready`, report.problems);
    const s = this.#s;
    for (const w of report.warnings) s.log.warn({ source: this.name }, w);
    const admin = await s.connect();
    try {
      const { found } = await resolveTables(admin, s.cfg.tables);
      s.tables.clear();
      for (const t of found) await s.loadTable(admin, t);
      if (s.cfg.createPublication) {
        const did = await ensurePublication(admin, s.publication, [...s.tables.values()]);
        s.log.info({ publication: s.publication }, did);
      }
    } catch (err) {
      throw classifyPgError(err, 'cannot prepare the source');
    } finally {
      await admin.end().catch(() => {});
    }
    this.#prepared = true;
  }

  async *snapshot(ctx: SourceContext, from: PgOffset | null): AsyncGenerator<ChangeBatch<PgOffset>> {
    await this.#prepare();
    yield* snapshot(this.#s, ctx, from);
  }

  async *stream(ctx: SourceContext, from: PgOffset | null): AsyncGenerator<ChangeBatch<PgOffset>> {
    await this.#prepare();
    const start = from ?? (await this.#createSlotWithoutSnapshot());
    const stream = new PgReplicationStream(this.#s, new Set(this.#s.tables.keys()), start.lsn);
    this.#stream = stream;
    this.#startHeartbeat(ctx);
    try {
      yield* stream.run(ctx, start);
    } finally {
      this.#stopHeartbeat();
      this.#stream = null;
    }
  }

  async #createSlotWithoutSnapshot(): Promise<PgOffset> {
    const s = this.#s;
    const admin = await s.connect();
    try {
      const existing = await slotInfo(admin, s.slot);
      if (existing?.confirmedFlushLsn) return { lsn: existing.confirmedFlushLsn };
      const { rows } = await admin.query(
        `SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')`,
        [s.slot],
      );
      return { lsn: rows[0].lsn };
    } catch (err) {
      throw classifyPgError(err, `cannot create replication slot ${s.slot}`);
    } finally {
      await admin.end().catch(() => {});
    }
  }

  #startHeartbeat(ctx: SourceContext): void {
    const every = this.#s.cfg.heartbeatInterval;
    if (every <= 0) return;
    let busy = false;
    this.#heartbeat = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        const c = await this.#s.connect();
        try {
          await c.query('SELECT pg_logical_emit_message(false, $1, $2)', [HEARTBEAT_PREFIX, '']);
        } finally {
          await c.end();
        }
      })()
        .catch((err: unknown) => ctx.log.debug({ err: String(err) }, 'heartbeat failed'))
        .finally(() => {
          busy = false;
        });
    }, every);
    this.#heartbeat.unref();
  }

  #stopHeartbeat(): void {
    if (this.#heartbeat) clearInterval(this.#heartbeat);
    this.#heartbeat = null;
  }

  async requestSnapshot(tables: readonly string[]): Promise<string> {
    const id = `r${Date.now().toString(36)}`;
    const admin = await this.#s.connect();
    try {
      // Transactional: the stream sees it in commit order (postgres-resnapshot.ts).
      await admin.query('SELECT pg_logical_emit_message(true, $1, $2)', [
        RESNAPSHOT_PREFIX,
        JSON.stringify(tables.length > 0 ? { id, tables } : { id }),
      ]);
      return id;
    } catch (err) {
      throw classifyPgError(err, 'cannot request a re-snapshot');
    } finally {
      await admin.end().catch(() => {});
    }
  }

  async acknowledge(offset: PgOffset): Promise<void> {
    // A snapshot's checkpoints sit at the consistent point; only streamed offsets move the slot.
    if (offset.snapshot) return;
    await this.#stream?.acknowledge(offset.lsn);
  }

  async status(committed: PgOffset | null): Promise<SourceStatus> {
    const s = this.#s;
    const admin = await s.connect();
    try {
      const slot = await slotInfo(admin, s.slot);
      const pub = await publicationTables(admin, s.publication);
      const { rows } = await admin.query('SELECT pg_current_wal_lsn()::text AS lsn');
      const current = rows[0].lsn as string;
      let lagBytes: number | null = null;
      if (committed) {
        const r = await admin.query('SELECT pg_wal_lsn_diff($1::pg_lsn, $2::pg_lsn)::float8 AS d', [
          current,
          committed.lsn,
        ]);
        lagBytes = Number(r.rows[0].d);
      }
      return {
        facts: {
          slot: s.slot,
          slotExists: slot !== null,
          slotActive: slot?.active ?? false,
          confirmedFlushLsn: slot?.confirmedFlushLsn ?? null,
          retainedWalBytes: slot?.retainedBytes ?? null,
          walStatus: slot?.walStatus ?? null,
          currentWalLsn: current,
          lagBytes,
          publication: s.publication,
          publicationTables: pub === 'all' ? 'all' : pub ? [...pub].sort() : null,
        },
      };
    } finally {
      await admin.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.#stopHeartbeat();
    await this.#stream?.close();
    this.#stream = null;
  }
}

export function createPostgresAdapter(cfg: PostgresSourceConfig, log: Logger): PostgresAdapter {
  return new PostgresAdapter(cfg, log);
}
