// Shared setup for end-to-end tests: private PostgreSQL + nats-server, a config, and ways to run
// sluice in-process or as a child process that can be SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { parseConfig } from '../../src/config/load.js';
import type { SluiceConfig } from '../../src/config/schema.js';
import type { Logger } from '../../src/core/source-adapter.js';
import { readAll, type StoredEvent } from '../../src/nats/stream-reader.js';
import { startRuntime, type Runtime } from '../../src/pipeline/runtime.js';
import { createLogger } from '../../src/util/logger.js';
import { TestNatsCluster, TestNatsServer, type NatsEndpoint } from './nats-server.js';
import { TestPostgres } from './postgres-server.js';
import { waitFor } from './ports.js';

export const quietLog: Logger & { child: () => Logger } = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => quietLog,
};

export interface RawSourceConfig {
  name: string;
  tables: string[];
  [k: string]: unknown;
}

export class Harness {
  private nc: NatsConnection | null = null;
  private constructor(
    readonly pg: TestPostgres,
    readonly nats: NatsEndpoint,
    readonly dir: string,
  ) {}

  /** With `natsNodes` > 1, a JetStream cluster of that many nodes instead of one server. */
  static async start(opts: { natsNodes?: number; pgFlags?: string[] } = {}): Promise<Harness> {
    const nodes = opts.natsNodes ?? 1;
    const [pg, nats] = await Promise.all([
      TestPostgres.start(opts.pgFlags),
      nodes > 1 ? TestNatsCluster.start(nodes) : TestNatsServer.start(),
    ]);
    return new Harness(pg, nats, await mkdtemp(join(tmpdir(), 'sluice-test-')));
  }

  rawConfig(source: RawSourceConfig, nats: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      nats: { servers: this.nats.url, commitInterval: '50ms', leaseTtl: '2s', ...nats },
      sources: [
        { kind: 'postgres', url: this.pg.url(), heartbeatInterval: '1s', slotBusyTimeout: '20s', ...source },
      ],
      log: { level: 'warn' },
    };
  }

  config(source: RawSourceConfig, nats: Record<string, unknown> = {}): SluiceConfig {
    return parseConfig(this.rawConfig(source, nats));
  }

  async runInProcess(cfg: SluiceConfig): Promise<Runtime> {
    return startRuntime(
      cfg,
      process.env.SLUICE_TEST_LOG ? createLogger(process.env.SLUICE_TEST_LOG) : quietLog,
    );
  }

  /** Waits until every source of `rt` streams (its slot exists and its snapshot is done). */
  async waitStreaming(rt: Runtime): Promise<void> {
    await waitFor(
      async () => rt.coordinators.every((c) => c.state === 'streaming'),
      'sources streaming',
      60_000,
    );
  }

  async writeConfig(raw: Record<string, unknown>): Promise<string> {
    const file = join(this.dir, `sluice-${Math.random().toString(36).slice(2)}.json.yaml`);
    await writeFile(file, JSON.stringify(raw, null, 2));
    return file;
  }

  /** `sluice run -c file` as a child process (for SIGKILL tests). */
  spawnSluice(configFile: string): ChildProcess {
    const root = resolve(import.meta.dirname, '../..');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'run', '-c', configFile],
      {
        cwd: root,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_TEST_LOG ?? 'warn' },
      },
    );
    child.stderr?.on('data', (d: Buffer) => {
      if (process.env.SLUICE_TEST_LOG) process.stderr.write(d);
    });
    return child;
  }

  async natsConnection(): Promise<NatsConnection> {
    if (!this.nc || this.nc.isClosed())
      this.nc = await connect({
        servers: this.nats.url.split(','),
        maxReconnectAttempts: -1,
        reconnectTimeWait: 200,
      });
    return this.nc;
  }

  async events(source: string, stream = 'SLUICE', prefix = 'sluice'): Promise<StoredEvent[]> {
    return readAll(await this.natsConnection(), stream, `${prefix}.${source}.>`);
  }

  /** Polls until the stream holds at least `n` events of `source`. */
  async waitForEvents(source: string, n: number, timeoutMs = 60_000): Promise<StoredEvent[]> {
    let last: StoredEvent[] = [];
    try {
      return await waitFor(
        async () => {
          last = await this.events(source);
          return last.length >= n ? last : null;
        },
        `${n} events of ${source}`,
        timeoutMs,
        200,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message} (have ${last.length})`, { cause: err });
    }
  }

  /** Waits until the marker table's row 1 is in the stream (so everything committed before it is too). */
  async waitForMarker(child: ChildProcess, source = 'bench', timeoutMs = 180_000, id = 1): Promise<void> {
    const nc = await this.natsConnection();
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`sluice exited with ${child.exitCode}`);
        const m = await jsm.streams
          .getMessage('SLUICE', { last_by_subj: `sluice.${source}.public.marker.*` })
          .catch(() => null);
        return m !== null && m.json<{ after: { id: number } }>().after.id >= id;
      },
      'the marker event',
      timeoutMs,
      250,
    );
  }

  async stop(): Promise<void> {
    await this.nc?.close().catch(() => {});
    await Promise.all([this.pg.stop(), this.nats.stop()]);
  }
}
