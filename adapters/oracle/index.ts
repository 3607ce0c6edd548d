// `kind: oracle`: Oracle LogMiner capture through oracledb in Thin mode. See README.md beside this file.
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
import type { OracleSourceConfig } from './config.js';
import { currentScn } from './oracle-logminer.js';
import { compareScn, oracleOffsetCodec, type OracleOffset } from './oracle-offset.js';
import { runPreflight } from './oracle-preflight.js';
import { OracleSession, type DriverLoader } from './oracle-session.js';
import { snapshot, snapshotPoint } from './oracle-snapshot.js';
import { LogMinerStream } from './oracle-streaming.js';

export class OracleAdapter implements SourceAdapter<OracleOffset> {
  readonly kind = 'oracle';
  readonly capabilities: SourceCapabilities = {
    ...defaultCapabilities,
    beforeImage: 'full', // supplemental logging of ALL columns, which preflight requires
    transactions: true,
  };
  readonly offsets = oracleOffsetCodec;
  readonly #s: OracleSession;
  #prepared = false;

  constructor(cfg: OracleSourceConfig, log: Logger, loadDriver?: DriverLoader) {
    this.#s = new OracleSession(cfg, log, loadDriver);
  }

  get name(): string {
    return this.#s.cfg.name;
  }

  preflight(): Promise<PreflightReport> {
    return runPreflight(this.#s);
  }

  needsSnapshot(offset: OracleOffset | null): boolean {
    if (offset === null) return this.#s.cfg.snapshot === 'initial';
    return offset.snapshot !== undefined;
  }

  async #prepare(): Promise<void> {
    if (this.#prepared) return;
    const report = await this.preflight();
    if (!report.ok) throw new PreflightError(`source ${this.name} is not ready`, report.problems);
    const s = this.#s;
    for (const w of report.warnings) s.log.warn({ source: this.name }, w);
    try {
      const { found } = await s.resolveTables();
      s.tables.clear();
      for (const q of found) await s.loadTable(q);
    } catch (err) {
      throw s.classify(err, 'cannot prepare the source');
    }
    this.#prepared = true;
  }

  async *snapshot(ctx: SourceContext, from: OracleOffset | null): AsyncGenerator<ChangeBatch<OracleOffset>> {
    await this.#prepare();
    yield* snapshot(this.#s, ctx, from);
  }

  async *stream(ctx: SourceContext, from: OracleOffset | null): AsyncGenerator<ChangeBatch<OracleOffset>> {
    await this.#prepare();
    let start = from;
    if (start === null) {
      // snapshot: never: what commits from now on, mined from the oldest open transaction's start.
      const p = await snapshotPoint(this.#s).catch((err: unknown) => {
        throw this.#s.classify(err, 'cannot read the current SCN');
      });
      start = { scn: p.from, commitScn: p.at };
    }
    yield* new LogMinerStream(this.#s).run(ctx, start);
  }

  async acknowledge(_offset: OracleOffset): Promise<void> {
    // LogMiner has nothing to advance: redo retention is the database's (archived log deletion
    // policy), and a position whose redo is gone is reported as OFFSET_LOST on resume.
  }

  async status(committed: OracleOffset | null): Promise<SourceStatus> {
    const s = this.#s;
    const now = await currentScn(s);
    const [oldest] = await s.rows(
      `SELECT MIN(FIRST_CHANGE#) AS FIRST_SCN FROM V$ARCHIVED_LOG WHERE DELETED = 'NO' AND NAME IS NOT NULL`,
    );
    const first =
      oldest?.FIRST_SCN === null || oldest?.FIRST_SCN === undefined ? null : String(oldest.FIRST_SCN);
    return {
      facts: {
        currentScn: now,
        oldestArchivedScn: first,
        lagScn: committed ? (BigInt(now) - BigInt(committed.commitScn)).toString() : null,
        restartScnAvailable: committed && first ? compareScn(first, committed.scn) <= 0 : null,
      },
    };
  }

  async close(): Promise<void> {
    await this.#s.close();
  }
}

export function createOracleAdapter(
  cfg: OracleSourceConfig,
  log: Logger,
  loadDriver?: DriverLoader,
): OracleAdapter {
  return new OracleAdapter(cfg, log, loadDriver);
}
