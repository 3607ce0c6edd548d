// delivery.webhook bench: events/s delivered from a backlog of resource events in the stream to a
// local node:http receiver, through Sluice's webhook endpoint (durable consumer, per-key order,
// Standard Webhooks signing, delivery log), beside a bare client (fetch, Node's undici) POSTing the
// same bodies with the same concurrency to the same receiver in the same run. Each deliverer runs
// in its own child process, whose CPU time per event is read from /proc; this process runs
// nats-server and the receiver. Bounded: every round has a deadline.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { cpuSeconds } from './proc.js';
import type { BenchOptions, BenchResult } from './types.js';

const here = fileURLToPath(import.meta.url);
const concurrency = 16;
const keys = 1000;
const natsSettings = (servers: string) => ({
  servers,
  stream: 'WHBENCH',
  subjectPrefix: 'whbench',
  kvBucket: 'whbench_kv',
});

interface Round {
  readonly eventsPerSecond: number;
  /** Deliverer CPU time (user + system, all threads) per event, in µs; undefined without /proc. */
  readonly cpuUs?: number;
}

/** Counts POSTs per path; a round waits for its path to reach `n`, timed from its first request. */
class Receiver {
  readonly #rounds = new Map<
    string,
    { n: number; seen: number; first: number; onFirst: () => void; done: () => void }
  >();
  #server: http.Server | null = null;
  url = '';

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const r = this.#rounds.get(req.url ?? '');
        if (r) {
          if (r.seen++ === 0) {
            r.first = performance.now();
            r.onFirst();
          }
          if (r.seen === r.n) r.done();
        }
        res.writeHead(204).end();
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Expects `n` POSTs on `path`; resolves with the seconds from the first to the n-th. */
  expect(path: string, n: number, onFirst: () => void, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const r = this.#rounds.get(path);
        reject(new Error(`${path}: ${r?.seen ?? 0} of ${n} events arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      const round = {
        n,
        seen: 0,
        first: 0,
        onFirst,
        done: () => {
          clearTimeout(timer);
          resolve((performance.now() - round.first) / 1000);
        },
      };
      this.#rounds.set(path, round);
    });
  }

  async close(): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

async function runRound(
  mode: 'sluice' | 'bare',
  round: number,
  natsUrl: string,
  receiver: Receiver,
  n: number,
  timeoutMs: number,
): Promise<Round> {
  const path = `/${mode}/${round}`;
  let child: ChildProcess | null = null;
  let cpuAtFirst: number | undefined;
  const elapsed = receiver.expect(path, n, () => (cpuAtFirst = cpuSeconds(child!.pid!)), timeoutMs);
  // SLUICE_BENCH_PROFILE=dir writes a CPU profile of each deliverer there.
  const prof = process.env.SLUICE_BENCH_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SLUICE_BENCH_PROFILE}`]
    : [];
  child = spawn(
    process.execPath,
    [
      ...prof,
      '--import',
      'tsx',
      here,
      '--deliver',
      mode,
      natsUrl,
      `${receiver.url}${path}`,
      String(n),
      String(round),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    const failed = exited.then(() => {
      throw new Error(`the ${mode} deliverer exited before delivering every event`);
    });
    const seconds = await Promise.race([elapsed, failed]);
    const cpuAtEnd = cpuSeconds(child.pid!);
    return {
      eventsPerSecond: n / seconds,
      ...(cpuAtFirst !== undefined && cpuAtEnd !== undefined
        ? { cpuUs: ((cpuAtEnd - cpuAtFirst) * 1e6) / n }
        : {}),
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

/** Child process: deliver every event of the stream to `url`, as Sluice or as a bare client. */
async function deliver(mode: string, natsUrl: string, url: string, n: number, round: number): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const nc = await connect({ servers: natsUrl });
  if (mode === 'sluice') {
    const { parseConfig } = await import('../src/config/load.js');
    const { provision } = await import('../src/nats/provision.js');
    const { startWebhooks } = await import('../src/delivery/webhooks/index.js');
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    const cfg = parseConfig({
      nats: natsSettings(natsUrl),
      api: { resources: { employees: employeesResource } },
      webhooks: [
        {
          name: `bench_${round}`,
          url,
          secret: `whsec_${randomBytes(24).toString('base64')}`,
          concurrency,
          retry: { initialDelay: '10ms', maxDelay: '100ms' },
        },
      ],
    });
    const { jsm, kv } = await provision(nc, cfg.nats);
    const rt = await startWebhooks(nc, jsm, kv, cfg, silent);
    process.once('SIGTERM', () => {
      void rt.stop().then(() => process.exit(0));
    });
    return;
  }
  // Bare: the same bodies, read from the stream first (outside the timed window), then POSTed by
  // `concurrency` loops, each waiting for its answer before the next.
  const { jetstream } = await import('@nats-io/jetstream');
  const js = jetstream(nc);
  const consumer = await js.consumers.get(natsSettings(natsUrl).stream);
  const bodies: string[] = [];
  const messages = await consumer.consume({ max_messages: 4096 });
  for await (const m of messages) {
    bodies.push(m.string());
    if (bodies.length === n || m.info.pending === 0) break;
  }
  await messages.close();
  await nc.close();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) {
        const body = bodies[next++]!;
        const res = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/cloudevents+json' },
          body,
        });
        await res.arrayBuffer();
      }
    }),
  );
  process.exit(0);
}

const employeesResource = {
  url: 'sqlite:./unused.db',
  table: 'emp',
  key: ['id'],
  fields: { id: { column: 'emp_no', codec: 'int' }, name: { column: 'emp_nm', codec: 'trim' } },
};

export async function runWebhookBench(opts: BenchOptions): Promise<BenchResult[]> {
  const { TestNatsServer } = await import('../test/support/nats-server.js');
  const { publishResourceEvents, resourceEvent } = await import('../test/support/resource-events.js');
  const { parseConfig } = await import('../src/config/load.js');
  const { provision } = await import('../src/nats/provision.js');
  const { connect } = await import('@nats-io/transport-node');
  const n = opts.quick ? 10_000 : 100_000;
  const nats = await TestNatsServer.start();
  const receiver = new Receiver();
  try {
    await receiver.start();
    const nc = await connect({ servers: nats.url });
    const cfg = parseConfig({
      nats: natsSettings(nats.url),
      api: { resources: { employees: employeesResource } },
    });
    await provision(nc, cfg.nats);
    const events = Array.from({ length: n }, (_, i) =>
      resourceEvent({
        resource: 'employees',
        type: i < keys ? 'created' : 'updated',
        key: { id: i % keys },
        after: { id: i % keys, name: `version ${Math.floor(i / keys)} of employee ${i % keys}` },
      }),
    );
    const t = performance.now();
    await publishResourceEvents(nc, cfg.nats.subjectPrefix, events, 512);
    opts.log(`delivery.webhook: ${n} events published in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    await nc.close();

    // Modes alternate (bare, sluice[, bare, sluice]) and each keeps its best round, so that a burst
    // of load from elsewhere on the machine does not decide the ratio.
    const timeoutMs = opts.quick ? 120_000 : 600_000;
    const best: Partial<Record<'sluice' | 'bare', Round>> = {};
    const leastCpu: Partial<Record<'sluice' | 'bare', number>> = {};
    for (let round = 0; round < (opts.quick ? 1 : 2); round++)
      for (const mode of ['bare', 'sluice'] as const) {
        const r = await runRound(mode, round, nats.url, receiver, n, timeoutMs);
        if (!best[mode] || r.eventsPerSecond > best[mode].eventsPerSecond) best[mode] = r;
        if (r.cpuUs !== undefined) leastCpu[mode] = Math.min(leastCpu[mode] ?? Infinity, r.cpuUs);
        opts.log(
          `delivery.webhook ${mode} round ${round + 1}: ${r.eventsPerSecond.toFixed(0)} events/s, cpu ${r.cpuUs?.toFixed(0) ?? '?'} µs/event`,
        );
      }
    const s = best.sluice!;
    const b = best.bare!;
    const extra = { events: n, keys, concurrency };
    const baseline = (value: number) => ({
      name: 'bare fetch POSTing the same bodies, same concurrency, same receiver',
      value,
    });
    const results: BenchResult[] = [
      {
        name: 'delivery.webhook throughput',
        value: s.eventsPerSecond,
        unit: 'events/s',
        baseline: baseline(b.eventsPerSecond),
        ratio: s.eventsPerSecond / b.eventsPerSecond,
        extra,
      },
    ];
    if (leastCpu.sluice !== undefined && leastCpu.bare !== undefined)
      // baseline/value: higher is better, like throughput.
      results.push({
        name: 'delivery.webhook deliverer CPU per event',
        value: leastCpu.sluice,
        unit: 'µs',
        baseline: baseline(leastCpu.bare),
        ratio: leastCpu.bare / leastCpu.sluice,
        extra,
      });
    return results;
  } finally {
    await receiver.close();
    await nats.stop();
  }
}

const deliverAt = process.argv.indexOf('--deliver');
if (deliverAt >= 0) {
  const [mode, natsUrl, url, n, round] = process.argv.slice(deliverAt + 1);
  await deliver(mode!, natsUrl!, url!, Number(n), Number(round));
} else if (process.argv[1] === here) {
  const quick = process.argv.includes('--quick');
  const results = await runWebhookBench({ quick, log: (l) => process.stderr.write(`${l}\n`) });
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}
