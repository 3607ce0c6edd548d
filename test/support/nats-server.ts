// Starts a private nats-server with JetStream on a free port, in its own store directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

/** What a test connects Sluice to: one server or a cluster. */
export interface NatsEndpoint {
  /** The `nats.servers` value of a config: one URL, or the cluster's URLs joined by `,`. */
  readonly url: string;
  /** Stops every server, waits `downMs`, starts them again (same ports and stores). */
  restart(downMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export class TestNatsServer implements NatsEndpoint {
  proc: ChildProcess | null = null;
  /** Extra arguments (a cluster node's name, cluster port and routes). */
  private extraArgs: readonly string[] = [];
  private constructor(
    readonly port: number,
    readonly storeDir: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** `args` are added to the command line (e.g. `-c file` for TLS and authorization blocks). */
  static async start(args: readonly string[] = []): Promise<TestNatsServer> {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-nats-'));
    const s = new TestNatsServer(await freePort(), dir);
    s.setArgs(args);
    await s.startProcess();
    return s;
  }

  setArgs(args: readonly string[]): void {
    this.extraArgs = args;
  }

  async startProcess(): Promise<void> {
    this.proc = spawn(
      'nats-server',
      ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir, ...this.extraArgs],
      { stdio: 'ignore' },
    );
    await waitFor(() => canConnect(this.port), `nats-server on ${this.port}`);
  }

  async stopProcess(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill(signal);
    await exited;
    this.proc = null;
  }

  async restart(downMs = 1000): Promise<void> {
    await this.stopProcess();
    await new Promise((r) => setTimeout(r, downMs));
    await this.startProcess();
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

/**
 * Three (or more) nats-server processes with routes on loopback: a real JetStream cluster, where
 * R3 streams and KV buckets have a leader and followers that can be killed one at a time.
 */
export class TestNatsCluster implements NatsEndpoint {
  private constructor(readonly nodes: readonly TestNatsServer[]) {}

  get url(): string {
    return this.nodes.map((n) => n.url).join(',');
  }

  static async start(size = 3): Promise<TestNatsCluster> {
    const nodes: TestNatsServer[] = [];
    const clusterPorts: number[] = [];
    for (let i = 0; i < size; i++) {
      const dir = await mkdtemp(join(tmpdir(), `sluice-nats-n${i + 1}-`));
      nodes.push(Reflect.construct(TestNatsServer, [await freePort(), dir]) as TestNatsServer);
      clusterPorts.push(await freePort());
    }
    nodes.forEach((n, i) => {
      const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
      n.setArgs([
        '--server_name',
        `n${i + 1}`,
        '--cluster_name',
        'sluice-test',
        '--cluster',
        `nats://127.0.0.1:${clusterPorts[i]}`,
        '--routes',
        routes.join(','),
      ]);
    });
    await Promise.all(nodes.map((n) => n.startProcess()));
    return new TestNatsCluster(nodes);
  }

  /** The node named `name` (`n1`, `n2`, …), as JetStream reports leaders. */
  node(name: string): TestNatsServer {
    const n = this.nodes[Number(name.replace(/^n/, '')) - 1];
    if (!n) throw new Error(`no cluster node ${name}`);
    return n;
  }

  async restart(downMs = 1000): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stopProcess()));
    await new Promise((r) => setTimeout(r, downMs));
    await Promise.all(this.nodes.map((n) => n.startProcess()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
