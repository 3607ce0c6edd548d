// A TCP proxy on loopback that a test can cut and restore: a process connected through it loses
// its server exactly as it would behind a failed network (sockets dropped, new connections
// refused), while the server itself keeps running for everyone else.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { freePort } from './ports.js';

export class TcpProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  /** Client connections accepted so far (how many times a process tried to connect). */
  accepted = 0;

  private constructor(
    readonly port: number,
    readonly targetPort: number,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const p = new TcpProxy(await freePort(), targetPort);
    await p.restore();
    return p;
  }

  /** Listens again (after a cut): new connections reach the target. */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Drops every connection through the proxy and refuses new ones until restore(). */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  async stop(): Promise<void> {
    await this.cut();
  }
}
