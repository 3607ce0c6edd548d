// `sluice verify <source> <sink>` as a whole: the table pairs from the config and the source's
// introspected schema, the stream position the comparison starts at, the comparison, and a second
// look at the differing rows once the sink has applied everything the stream held by the end
// (both sides may take writes while verify runs).
import type { DbTls } from '../sql/sql-tls.js';
import type { Knex } from 'knex';
import type { SluiceConfig, SourceConfig } from '../config/schema.js';
import type { SinkConfig } from '../config/sinks.js';
import { ConfigError } from '../core/errors.js';
import { dialectForUrl } from '../sql/dialects.js';
import type { SqlDialect } from '../sql/sql-dialect.js';
import { SinkMapping } from './sink-mapping.js';
import { loadPosition } from './sink-position.js';
import { Verifier, type TableReport, type VerifyTable } from './verify.js';

export interface VerifyRunOptions {
  readonly chunkSize: number;
  readonly leafSize: number;
  /** Longest wait for the sink to catch up before re-checking differing rows (ms). */
  readonly waitMs: number;
  /** The stream's last sequence of the source now (null: no NATS, compare without a position). */
  readonly streamSeq: () => Promise<number | null>;
  readonly onProgress?: (table: string, done: number, total: number) => void;
  readonly onPhase?: (text: string) => void;
}

export interface VerifyRunReport {
  readonly source: string;
  readonly sink: string;
  readonly equal: boolean;
  /** The stream sequence the comparison started at, and the sink's position then. */
  readonly streamSeq: number | null;
  readonly sinkSeqAtStart: number | null;
  /** Differences were re-read after the sink reached this sequence (null: no re-check needed or possible). */
  readonly recheckedAtSeq: number | null;
  readonly rows: number;
  readonly durationMs: number;
  readonly tables: TableReport[];
}

function sourceTables(s: SourceConfig): string[] {
  return s.tables.map((t) => (typeof t === 'string' ? t : t.table));
}

interface Opened {
  readonly knex: Knex;
  readonly dialect: SqlDialect;
}

async function open(url: string, tls: DbTls | undefined): Promise<Opened> {
  const dialect = await dialectForUrl(url);
  const { default: knexFactory } = await import('knex');
  return { knex: knexFactory(await dialect.sourceKnexConfig(url, tls)), dialect };
}

export async function runVerify(
  cfg: SluiceConfig,
  sourceName: string,
  sinkName: string,
  o: VerifyRunOptions,
): Promise<VerifyRunReport> {
  const source = cfg.sources.find((s) => s.name === sourceName);
  if (!source) throw new ConfigError(`no source named ${sourceName}`);
  const sink: SinkConfig | undefined = cfg.sinks.find((s) => s.name === sinkName);
  if (!sink) throw new ConfigError(`no sink named ${sinkName}`);
  if (sink.from !== source.name)
    throw new ConfigError(`sink ${sink.name} applies source ${sink.from}, not ${source.name}`);
  const started = Date.now();
  const src = await open(source.url, source.tls);
  const dst = await open(sink.url, sink.tls);
  try {
    const mapping = new SinkMapping(sink, cfg.api?.resources ?? {});
    const introspector = await src.dialect.introspector?.();
    if (!introspector)
      throw new ConfigError(`verify cannot read the schema of ${src.dialect.name} databases`);
    const names = Object.keys(sink.tables).length > 0 ? Object.keys(sink.tables) : sourceTables(source);
    const tables: VerifyTable[] = [];
    for (const name of names) {
      const [schema, table] = name.split('.') as [string, string];
      const target = mapping.target(schema, table);
      if (!target) continue;
      const info = await introspector.describe(src.knex, src.dialect.introspectName(schema, table));
      const resource = mapping.resourceOf(name);
      const key = resource ? resource.key.map((f) => f.column) : info.primaryKey;
      if (key.length === 0) throw new ConfigError(`${name} has no primary key: verify needs one`);
      tables.push({ name, source: { table: name, key, columns: info.columns.map((c) => c.name) }, target });
    }
    const sinkSeqAtStart = await loadPosition(dst.knex, sink.name)
      .then((p) => p.seq)
      .catch(() => null);
    const streamSeq = await o.streamSeq();
    const verifier = new Verifier(src, dst, {
      chunkSize: o.chunkSize,
      leafSize: o.leafSize,
      ...(o.onProgress ? { onProgress: o.onProgress } : {}),
    });
    const reports: TableReport[] = [];
    for (const t of tables) reports.push(await verifier.table(t));
    let recheckedAtSeq: number | null = null;
    if (reports.some((r) => r.differences.length > 0)) {
      // Rows may differ only because the sink had not applied them yet: wait until it holds what
      // the stream holds now, then read those rows again.
      const until = await o.streamSeq();
      if (until !== null) {
        o.onPhase?.(`waiting for sink ${sink.name} to reach stream sequence ${until}`);
        const deadline = Date.now() + o.waitMs;
        let at = 0;
        while (Date.now() < deadline) {
          at = await loadPosition(dst.knex, sink.name)
            .then((p) => p.seq)
            .catch(() => 0);
          if (at >= until) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        recheckedAtSeq = at;
      }
      o.onPhase?.('re-checking the differing rows');
      for (let i = 0; i < reports.length; i++) {
        const r = reports[i]!;
        if (r.differences.length === 0) continue;
        reports[i] = { ...r, differences: await verifier.recheck(tables[i]!, r.differences) };
      }
    }
    return {
      source: source.name,
      sink: sink.name,
      equal: reports.every((r) => r.differences.length === 0),
      streamSeq,
      sinkSeqAtStart,
      recheckedAtSeq,
      rows: reports.reduce((n, r) => n + r.sourceRows, 0),
      durationMs: Date.now() - started,
      tables: reports,
    };
  } finally {
    await src.knex.destroy();
    await dst.knex.destroy();
  }
}
