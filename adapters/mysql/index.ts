// `kind: mysql`: MySQL and MariaDB binlog capture through @vlasky/zongji. See README.md beside this file.
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
import type { MysqlSourceConfig } from './config.js';
import { comparePoints, fileIndex, mysqlOffsetCodec, type MysqlOffset } from './mysql-offset.js';
import { runPreflight } from './mysql-preflight.js';
import { MysqlSession } from './mysql-session.js';
import { snapshot } from './mysql-snapshot.js';
import { BinlogStream } from './mysql-streaming.js';

export class MysqlAdapter implements SourceAdapter<MysqlOffset> {
  readonly kind = 'mysql';
  readonly capabilities: SourceCapabilities = {
    ...defaultCapabilities,
    beforeImage: 'full', // binlog_row_image=FULL, which preflight requires
    transactions: true,
    truncate: true,
    schemaChanges: true,
    origins: 'marker', // a Sluice sink writes a sluice_sink_marker row first in each transaction
  };
  readonly offsets = mysqlOffsetCodec;
  readonly #s: MysqlSession;
  #stream: BinlogStream | null = null;
  #prepared = false;

  constructor(cfg: MysqlSourceConfig, log: Logger) {
    this.#s = new MysqlSession(cfg, log);
  }

  get name(): string {
    return this.#s.cfg.name;
  }

  /** The server_id this source reads the binlog as. */
  get serverId(): number {
    return this.#s.serverId;
  }

  preflight(): Promise<PreflightReport> {
    return runPreflight(this.#s);
  }

  needsSnapshot(offset: MysqlOffset | null): boolean {
    if (offset === null) return this.#s.cfg.snapshot === 'initial';
    return offset.snapshot !== undefined;
  }

  /** Checks prerequisites and resolves the tables with their keys. */
  async #prepare(): Promise<void> {
    if (this.#prepared) return;
    const report = await this.preflight();
    if (!report.ok) throw new PreflightError(`source ${this.name} is not ready`, report.problems);
    const s = this.#s;
    for (const w of report.warnings) s.log.warn({ source: this.name }, w);
    try {
      const { found } = await s.resolveTables();
      s.tables.clear();
      for (const t of found) await s.loadTable(t);
    } catch (err) {
      throw s.classify(err, 'cannot prepare the source');
    }
    this.#prepared = true;
  }

  async *snapshot(ctx: SourceContext, from: MysqlOffset | null): AsyncGenerator<ChangeBatch<MysqlOffset>> {
    await this.#prepare();
    yield* snapshot(this.#s, ctx, from);
  }

  async *stream(ctx: SourceContext, from: MysqlOffset | null): AsyncGenerator<ChangeBatch<MysqlOffset>> {
    await this.#prepare();
    const start = from ?? (await this.#currentPosition());
    const stream = new BinlogStream(this.#s, new Set(this.#s.tables.keys()));
    this.#stream = stream;
    try {
      yield* stream.run(ctx, start);
    } finally {
      this.#stream = null;
    }
  }

  /** The end of the binlog now (snapshot: never), with the GTIDs executed up to it. */
  async #currentPosition(): Promise<MysqlOffset> {
    const s = this.#s;
    try {
      const facts = await s.facts();
      const [m] = await s.rows('SHOW MASTER STATUS').catch(() => s.rows('SHOW BINARY LOG STATUS'));
      let gtid: string | undefined;
      if (facts.mariadb) gtid = String((await s.rows('SELECT @@GLOBAL.gtid_binlog_pos AS g'))[0]?.g ?? '');
      else if (facts.gtids) gtid = String(m?.Executed_Gtid_Set ?? '').replace(/\s/g, '');
      return {
        file: String(m?.File ?? ''),
        pos: Number(m?.Position ?? 4),
        ...(gtid ? { gtid } : {}),
        serverId: facts.serverId,
        ...(facts.serverUuid ? { serverUuid: facts.serverUuid } : {}),
      };
    } catch (err) {
      throw s.classify(err, 'cannot read the binlog position');
    }
  }

  async acknowledge(_offset: MysqlOffset): Promise<void> {
    // The binlog has no replication slot to advance: retention is the server's
    // (binlog_expire_logs_seconds), and a purged position is reported as OFFSET_LOST on resume.
  }

  async status(committed: MysqlOffset | null): Promise<SourceStatus> {
    const s = this.#s;
    const logs = (await s.rows('SHOW BINARY LOGS')).map((r) => ({
      file: String(r.Log_name),
      size: Number(r.File_size),
    }));
    const current = await this.#currentPosition();
    let lagBytes: number | null = null;
    if (committed && comparePoints(committed, current) <= 0) {
      lagBytes = 0;
      for (const l of logs) {
        const i = fileIndex(l.file);
        if (i < fileIndex(committed.file) || i > fileIndex(current.file)) continue;
        const from = i === fileIndex(committed.file) ? committed.pos : 0;
        const to = i === fileIndex(current.file) ? current.pos : l.size;
        lagBytes += Math.max(0, to - from);
      }
    }
    return {
      facts: {
        serverId: s.serverId,
        binlogFiles: logs.length,
        oldestBinlog: logs[0]?.file ?? null,
        retainedBinlogBytes: logs.reduce((n, l) => n + l.size, 0),
        currentPosition: `${current.file}:${current.pos}`,
        currentGtid: current.gtid ?? null,
        lagBytes,
      },
    };
  }

  async close(): Promise<void> {
    await this.#stream?.close();
    this.#stream = null;
    await this.#s.close();
  }
}

export function createMysqlAdapter(cfg: MysqlSourceConfig, log: Logger): MysqlAdapter {
  return new MysqlAdapter(cfg, log);
}
