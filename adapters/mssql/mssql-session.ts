// The connection to SQL Server through the `mssql` package (on tedious), loaded lazily. Every
// statement the adapter sends is a parameterless T-SQL batch (LSNs and versions are inlined as
// literals the offset codec validated), so one request can hold a whole SNAPSHOT-isolation
// transaction and return several result sets; `stream` pauses the driver while its consumer is busy.
import { createRequire } from 'node:module';
import type { Logger } from '../../src/core/source-adapter.js';
import { mssqlDialect } from '../../src/sql/mssql/mssql-dialect.js';
import type { MssqlSourceConfig } from './config.js';
import { classifyMssqlError } from './mssql-errors.js';

export type Row = Record<string, unknown>;

/** A scalar column value as text ('' for null); what the catalog and version columns hold. */
export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return JSON.stringify(v);
}

/** One row of a streamed batch and the index of the result set it belongs to. */
export interface StreamedRow {
  readonly set: number;
  readonly row: Row;
}

/** What the adapter needs of a SQL Server connection; tests answer it from recorded rows. */
export interface MssqlExecutor {
  /** Runs a batch; resolves to its result sets. */
  batch(sql: string): Promise<Row[][]>;
  /** Runs a batch and yields its rows as they arrive, at most `highWaterMark` buffered. */
  stream(sql: string, highWaterMark: number, signal?: AbortSignal): AsyncIterable<StreamedRow>;
  close(): Promise<void>;
}

/** The structural subset of `mssql` this file uses (the package ships no types). */
interface MssqlRequest {
  stream: boolean;
  batch(sql: string): Promise<{ recordsets: Row[][] }>;
  pause(): boolean;
  resume(): boolean;
  cancel(): void;
  on(event: 'recordset', cb: (columns: unknown) => void): this;
  on(event: 'row', cb: (row: Row) => void): this;
  on(event: 'error', cb: (err: unknown) => void): this;
  on(event: 'done', cb: () => void): this;
}
interface MssqlPool {
  connect(): Promise<MssqlPool>;
  request(): MssqlRequest;
  close(): Promise<void>;
  on(event: 'error', cb: (err: unknown) => void): void;
}
interface MssqlModule {
  ConnectionPool: new (config: Record<string, unknown>) => MssqlPool;
}

/** The `mssql` pool config for a mssql:// URL: the dialect's parsing, so `init`, the API and the source agree. */
export async function poolConfig(cfg: Pick<MssqlSourceConfig, 'url' | 'name' | 'requestTimeout'>) {
  const knexCfg = await mssqlDialect.knexConfig(cfg.url);
  const connection = knexCfg.connection as Record<string, unknown> & { options: Record<string, unknown> };
  return {
    ...connection,
    options: { ...connection.options, appName: `sluice:${cfg.name}`, useUTC: true },
    requestTimeout: cfg.requestTimeout,
    connectionTimeout: 15_000,
    // 'socket': no SELECT 1 round trip per acquired connection.
    validateConnection: 'socket',
    pool: { min: 0, max: 2, idleTimeoutMillis: 30_000 },
  };
}

export class MssqlPoolExecutor implements MssqlExecutor {
  #pool: Promise<MssqlPool> | null = null;
  /** How often a streamed read paused the driver because its consumer fell behind. */
  pauses = 0;

  constructor(
    private readonly cfg: MssqlSourceConfig,
    private readonly log: Logger,
  ) {}

  #connect(): Promise<MssqlPool> {
    this.#pool ??= (async () => {
      // Loaded here, on first use: a source of another kind never loads mssql (it ships no types).
      const mssql = createRequire(import.meta.url)('mssql') as MssqlModule;
      const pool = new mssql.ConnectionPool(await poolConfig(this.cfg));
      pool.on('error', (err) => this.log.warn({ source: this.cfg.name, err }, 'SQL Server pool error'));
      return pool.connect();
    })().catch((err: unknown) => {
      this.#pool = null;
      throw classifyMssqlError(err, `cannot connect to ${this.cfg.name}`, this.cfg.name);
    });
    return this.#pool;
  }

  async batch(sql: string): Promise<Row[][]> {
    const pool = await this.#connect();
    try {
      return (await pool.request().batch(sql)).recordsets;
    } catch (err) {
      throw classifyMssqlError(err, `query on ${this.cfg.name} failed`, this.cfg.name);
    }
  }

  async *stream(sql: string, highWaterMark: number, signal?: AbortSignal): AsyncGenerator<StreamedRow> {
    const pool = await this.#connect();
    const req = pool.request();
    req.stream = true;
    const queue: StreamedRow[] = [];
    let set = -1;
    let done = false;
    let failure: unknown = null;
    let paused = false;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    req.on('recordset', () => {
      set++;
    });
    req.on('row', (row) => {
      queue.push({ set, row });
      if (queue.length >= highWaterMark && !paused) {
        paused = req.pause();
        this.pauses++;
      }
      notify();
    });
    req.on('error', (err) => {
      failure ??= err;
      notify();
    });
    req.on('done', () => {
      done = true;
      notify();
    });
    const onAbort = () => req.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    req.batch(sql).catch((err: unknown) => {
      failure ??= err;
      done = true;
      notify();
    });
    try {
      for (;;) {
        while (queue.length > 0) {
          yield queue.shift()!;
          if (paused && queue.length < highWaterMark / 2) {
            paused = false;
            req.resume();
          }
        }
        if (failure !== null)
          throw classifyMssqlError(failure, `query on ${this.cfg.name} failed`, this.cfg.name);
        if (done || signal?.aborted) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (!done) req.cancel();
    }
  }

  async close(): Promise<void> {
    const p = this.#pool;
    this.#pool = null;
    if (p) await (await p.catch(() => null))?.close();
  }
}
