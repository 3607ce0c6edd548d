// `kind: mssql`: SQL Server change capture through the `mssql` package (on tedious), from the CDC
// change tables or, with `mode: changeTracking`, from Change Tracking. See README.md beside this file.
import type { ChangeOrigin } from '../../src/core/change-event.js';
import { BridgeError, PreflightError } from '../../src/core/errors.js';
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
import { VERSION } from '../../src/version.js';
import type { MssqlSourceConfig } from './config.js';
import { loadTables, type MssqlTable } from './mssql-catalog.js';
import { streamChangeTracking } from './mssql-change-tracking.js';
import { lsnHex, lsnText, MAX_SEQVAL, mssqlOffsetCodec, type MssqlOffset } from './mssql-offset.js';
import { runPreflight } from './mssql-preflight.js';
import { MssqlPoolExecutor, text, type MssqlExecutor } from './mssql-session.js';
import { snapshot } from './mssql-snapshot.js';
import { streamCdc } from './mssql-streaming.js';

export class MssqlAdapter implements SourceAdapter<MssqlOffset> {
  readonly kind = 'mssql';
  readonly capabilities: SourceCapabilities;
  readonly offsets = mssqlOffsetCodec;
  readonly #db: MssqlExecutor;
  #tables: MssqlTable[] | null = null;
  #origin: ChangeOrigin<'sqlserver'> | null = null;

  constructor(
    readonly cfg: MssqlSourceConfig,
    readonly log: Logger,
    /** Tests pass an executor answering from recorded rows; by default the `mssql` pool. */
    db?: MssqlExecutor,
  ) {
    this.#db = db ?? new MssqlPoolExecutor(cfg, log);
    const cdc = cfg.mode === 'cdc';
    this.capabilities = {
      ...defaultCapabilities,
      beforeImage: cdc ? 'full' : 'key', // 'all update old' gives the old row; CT knows only the key
      transactions: cdc,
      schemaChanges: cdc, // through a second capture instance
    };
  }

  get name(): string {
    return this.cfg.name;
  }

  async preflight(): Promise<PreflightReport> {
    return (await runPreflight(this.#db, this.cfg)).report;
  }

  needsSnapshot(offset: MssqlOffset | null): boolean {
    return offset === null && this.cfg.snapshot === 'initial';
  }

  /** Checks prerequisites once and loads the tables with their capture instances. */
  async #prepare(): Promise<{ tables: MssqlTable[]; origin: ChangeOrigin<'sqlserver'> }> {
    if (this.#tables && this.#origin) return { tables: this.#tables, origin: this.#origin };
    const { report, tables } = await runPreflight(this.#db, this.cfg);
    if (!report.ok) throw new PreflightError(`source ${this.name} is not ready`, report.problems);
    for (const w of report.warnings) this.log.warn({ source: this.name }, w);
    this.#tables = tables;
    this.#origin = {
      connector: 'sqlserver',
      source: this.name,
      version: VERSION,
      db: text(report.facts.database),
    };
    return { tables, origin: this.#origin };
  }

  async *snapshot(ctx: SourceContext, _from: MssqlOffset | null): AsyncGenerator<ChangeBatch<MssqlOffset>> {
    const { tables, origin } = await this.#prepare();
    yield* snapshot(this.#db, tables, this.cfg.mode, origin, this.cfg.snapshotChunkSize, ctx);
  }

  async *stream(ctx: SourceContext, from: MssqlOffset | null): AsyncGenerator<ChangeBatch<MssqlOffset>> {
    const { tables, origin } = await this.#prepare();
    const start = from ?? (await this.#currentPosition());
    if (start.mode !== this.cfg.mode)
      throw new BridgeError(
        `source ${this.name} has a ${start.mode} offset but is configured with mode: ${this.cfg.mode}; re-snapshot it after changing the mode`,
      );
    const common = {
      db: this.#db,
      origin,
      source: this.name,
      pollInterval: this.cfg.pollInterval,
      maxRows: this.cfg.snapshotChunkSize,
    };
    if (start.mode === 'cdc')
      yield* streamCdc(
        {
          ...common,
          maxTransactions: this.cfg.maxTransactionsPerPoll,
          tables: async (reload) => {
            if (reload) {
              this.#tables = (await loadTables(this.#db, this.cfg.tables, true)).tables;
              this.log.info(
                {
                  source: this.name,
                  captures: this.#tables.map((t) => [t.qualified, t.captures.map((c) => c.name)]),
                },
                'capture instances changed',
              );
            }
            return this.#tables ?? tables;
          },
        },
        ctx,
        start,
      );
    else yield* streamChangeTracking({ ...common, tables }, ctx, start);
  }

  /** Where streaming starts without a snapshot: the newest change captured (CDC) or the current version. */
  async #currentPosition(): Promise<MssqlOffset> {
    if (this.cfg.mode === 'cdc') {
      const [[r = {}] = []] = await this.#db.batch('SELECT sys.fn_cdc_get_max_lsn() AS max_lsn');
      if (r.max_lsn === null || r.max_lsn === undefined)
        throw new BridgeError('sys.fn_cdc_get_max_lsn() is NULL: the SQL Server Agent is not running', {
          retriable: true,
        });
      return { mode: 'cdc', lsn: lsnHex(r.max_lsn), seqval: MAX_SEQVAL, op: 4 };
    }
    const [[r = {}] = []] = await this.#db.batch(
      'SELECT CAST(CHANGE_TRACKING_CURRENT_VERSION() AS varchar(20)) AS version',
    );
    return { mode: 'changeTracking', version: text(r.version) || '0' };
  }

  async acknowledge(_offset: MssqlOffset): Promise<void> {
    // Nothing to advance at the source: the CDC cleanup job (retention) and Change Tracking's
    // retention decide how long changes stay; a position they removed is OFFSET_LOST on resume.
  }

  async status(committed: MssqlOffset | null): Promise<SourceStatus> {
    const current = await this.#currentPosition();
    return {
      facts: {
        mode: this.cfg.mode,
        current: current.mode === 'cdc' ? lsnText(current.lsn) : current.version,
        committed: committed ? this.offsets.describe(committed) : null,
      },
    };
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}

export function createMssqlAdapter(cfg: MssqlSourceConfig, log: Logger, db?: MssqlExecutor): MssqlAdapter {
  return new MssqlAdapter(cfg, log, db);
}
