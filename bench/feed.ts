// delivery.feed: publish → SSE event latency through GET /api/events/changes with 200 concurrent
// subscribers at 1k changes/s, beside a plain NATS subscriber on the same subject in the same run
// (the floor: what a client speaking NATS would see). The REST service runs in its own child
// process; this process publishes and parses the events of 20 subscribers, a second child holds the
// other 180 and discards what they read (so the clients' own work does not skew the figure).
// "Commit" is the resource event's publish into the stream: the router is measured elsewhere.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { createParser } from 'eventsource-parser';
import { parse } from 'yaml';
import { parseConfig } from '../src/config/load.js';
import { resourceWildcard } from '../src/delivery/resource-event.js';
import { ensureStream } from '../src/nats/provision.js';
import { openDatabase } from '../src/sql/database.js';
import { createLegacySchema } from '../test/fixtures/rest/legacy-db.js';
import { TestNatsServer } from '../test/support/nats-server.js';
import { apiResourceEvent, publishResourceEventsJs } from '../test/support/resource-events.js';
import type { FeedStage, FeedTraceMessage } from '../src/delivery/feed/feed-trace.js';
import type { BenchOptions, BenchResult } from './types.js';

const here = fileURLToPath(import.meta.url);
const subscribers = 200;
const measured = 20;
const ratePerSecond = 1000;
const prefix = 'bench';

async function feedConfig(natsUrl: string, dbUrl: string) {
  const api = parse(
    await readFile(new URL('../test/fixtures/rest/legacy.yaml', import.meta.url), 'utf8'),
  ).api;
  api.database = dbUrl;
  return parseConfig(
    { nats: { servers: natsUrl, stream: 'BENCH', subjectPrefix: prefix }, api, log: { level: 'error' } },
    {},
  );
}

/** Runs this file in a child process with `args`; resolves with what it prints after READY. */
function startChild(args: string[]): Promise<{ ready: string; child: ChildProcess; output: () => string }> {
  // SLUICE_BENCH_PROFILE=dir writes a CPU profile of the feed server there.
  const prof =
    process.env.SLUICE_BENCH_PROFILE && args[0] === '--serve'
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SLUICE_BENCH_PROFILE}`]
      : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', here, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out);
      if (m) resolve({ ready: m[1]!, child, output: () => out });
    });
    child.once('exit', (code) => reject(new Error(`bench child ${args[0]} exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await gone;
}

/** Child process: `n` subscribers that read and discard, so the measuring process stays light. */
async function drain(url: string, n: number): Promise<void> {
  const clients = await Promise.all(Array.from({ length: n }, () => subscribe(url, null)));
  process.stdout.write(`READY ${clients.length}\n`);
  process.once('SIGTERM', () => {
    for (const c of clients) c.destroy();
    process.exit(0);
  });
}

/** Wall-clock milliseconds with sub-millisecond precision: comparable across processes. */
const now = () => performance.timeOrigin + performance.now();
/** The publish time stamped into a bench event. */
const sentAt = (event: { data: { after: Record<string, unknown> | null } }) =>
  Number(event.data.after?.message);
/** The same, read from the event's JSON text without parsing all of it (the clients read many). */
const stampOf = (json: string) => {
  const at = json.indexOf('"message":"') + 11;
  return Number(json.slice(at, json.indexOf('"', at)));
};

/** Latencies counted in 0.1 ms buckets: recording one costs no allocation (the server records 600k). */
class Histogram {
  readonly #counts = new Uint32Array(100_000);
  n = 0;
  add(ms: number, times = 1): void {
    this.#counts[Math.max(0, Math.min(this.#counts.length - 1, Math.round(ms * 10)))]! += times;
    this.n += times;
  }
  percentile(p: number): number {
    const rank = Math.min(this.n - 1, Math.floor((p / 100) * this.n));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen > rank) return i / 10;
    }
    return NaN;
  }
  summary(): { p50: number; p99: number; n: number } {
    return { p50: this.percentile(50), p99: this.percentile(99), n: this.n };
  }
}

/**
 * Child process: the REST service with the change feed, printing READY <url>. It records when each
 * event reaches the shared consumer ("tail") and each subscriber's stream ("write"), and its CPU
 * time, and prints them as STAGES <json> when told to stop.
 */
async function serve(natsUrl: string, dbUrl: string): Promise<void> {
  const { startApi } = await import('../src/http/server.js');
  const { createLogger } = await import('../src/util/logger.js');
  const { feedTrace } = await import('../src/delivery/feed/feed-trace.js');
  const stages: Record<FeedStage, Histogram> = { tail: new Histogram(), write: new Histogram() };
  const stamps = new WeakMap<object, number>();
  let cpuFrom: NodeJS.CpuUsage | undefined;
  let wallFrom = 0;
  let writes = 0;
  feedTrace.subscribe((msg) => {
    const { stage, items } = msg as FeedTraceMessage;
    if (stage === 'write') writes++;
    if (stage === 'tail' && !cpuFrom) [cpuFrom, wallFrom] = [process.cpuUsage(), now()];
    const t = now();
    for (const item of items) {
      let sent = stamps.get(item);
      if (sent === undefined) stamps.set(item, (sent = sentAt(item.event)));
      stages[stage].add(t - sent);
    }
  });
  const api = await startApi(await feedConfig(natsUrl, dbUrl), createLogger('error'));
  process.stdout.write(`READY ${api.url}\n`);
  process.once('SIGTERM', () => {
    const cpu = process.cpuUsage(cpuFrom);
    const summary = {
      tail: stages.tail.summary(),
      write: stages.write.summary(),
      writes,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: now() - wallFrom,
    };
    process.stdout.write(`STAGES ${JSON.stringify(summary)}\n`);
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}

interface ServerStages {
  readonly tail: { p50: number; p99: number; n: number };
  readonly write: { p50: number; p99: number; n: number };
  readonly writes: number;
  readonly cpuMs: number;
  readonly wallMs: number;
}

/** Opens one SSE connection; `onEvent` gets each event's data (only when parsing). */
function subscribe(url: string, onData: ((data: string) => void) | null): Promise<http.ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream' }, agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`feed answered ${res.statusCode}`));
      if (onData) {
        const parser = createParser({ onEvent: (e) => onData(e.data) });
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => parser.feed(chunk));
      } else res.resume();
      resolve(req);
    });
    req.on('error', reject);
  });
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runFeedBench(opts: BenchOptions): Promise<BenchResult[]> {
  const seconds = opts.quick ? 3 : 10;
  const total = seconds * ratePerSecond;
  const nats = await TestNatsServer.start();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-feed-'));
  const dbUrl = `sqlite:${join(dir, 'legacy.db')}`;
  const db = await openDatabase(dbUrl);
  await createLegacySchema(db.knex, 'sqlite');
  await db.close();
  const nc = await connect({ servers: nats.url });
  await ensureStream(await jetstreamManager(nc), (await feedConfig(nats.url, dbUrl)).nats);
  const js = jetstream(nc);
  const server = await startChild(['--serve', nats.url, dbUrl]);
  const url = `${server.ready}/api/events/changes`;
  const clients: http.ClientRequest[] = [];
  let drainer: ChildProcess | undefined;
  try {
    drainer = (await startChild(['--drain', url, String(subscribers - measured)])).child;
    const feedLatencies: number[] = [];
    const natsLatencies: number[] = [];
    for (let i = 0; i < measured; i++)
      clients.push(await subscribe(url, (data) => feedLatencies.push(now() - stampOf(data))));
    const sub = nc.subscribe(resourceWildcard(prefix, 'events'), {
      callback: (_err, m) => {
        natsLatencies.push(now() - stampOf(m.string()));
      },
    });
    opts.log(`  feed: ${subscribers} subscribers open; publishing ${total} changes at ${ratePerSecond}/s`);

    // 10 changes every 10 ms, each stamped with its publish time; acks awaited per tick.
    const started = performance.now();
    for (let tick = 0; tick * 10 < total; tick++) {
      const due = started + tick * 10;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const events = Array.from({ length: 10 }, (_, k) =>
        apiResourceEvent('events', ['id'], 'created', {
          after: { id: tick * 10 + k, message: String(now()) },
        }),
      );
      await publishResourceEventsJs(js, prefix, events);
    }
    const achieved = (total * 1000) / (performance.now() - started);
    const deadline = performance.now() + 30_000;
    while (feedLatencies.length < total * measured && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    sub.unsubscribe();
    await stopChild(server.child);
    const stagesLine = /STAGES (\S+)/.exec(server.output());
    const stages = stagesLine ? (JSON.parse(stagesLine[1]!) as ServerStages) : null;

    const feed = [...feedLatencies].sort((a, b) => a - b);
    const floor = [...natsLatencies].sort((a, b) => a - b);
    const p99 = percentile(feed, 99);
    const natsP99 = percentile(floor, 99);
    const lost = total * measured - feed.length;
    opts.log(
      `  feed: p50 ${percentile(feed, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; NATS subscriber p99 ${natsP99.toFixed(1)} ms`,
    );
    const ms = (x: number) => x.toFixed(1);
    if (stages)
      opts.log(
        `  feed stages (publish → …, p50/p99 ms): shared consumer ${ms(stages.tail.p50)}/${ms(stages.tail.p99)}, ` +
          `subscriber stream ${ms(stages.write.p50)}/${ms(stages.write.p99)}, client parsed ${ms(percentile(feed, 50))}/${ms(p99)}; ` +
          `feed server CPU ${ms(stages.cpuMs)} ms over ${ms(stages.wallMs)} ms (${ms((stages.cpuMs * 1000) / (total * subscribers))} µs per event per subscriber), ` +
          `${(stages.write.n / Math.max(1, stages.writes)).toFixed(1)} events per socket write`,
      );
    return [
      {
        name: 'delivery.feed p99 (commit → SSE event)',
        value: p99,
        unit: 'ms',
        baseline: { name: 'NATS subscriber p99', value: natsP99 },
        ratio: natsP99 / p99,
        extra: {
          p50: Number(percentile(feed, 50).toFixed(2)),
          subscribers,
          rate: Math.round(achieved),
          events: total,
          missing: lost,
          target_p99_ms: 100,
          ...(stages
            ? {
                tail_p99: Number(stages.tail.p99.toFixed(2)),
                write_p99: Number(stages.write.p99.toFixed(2)),
                server_cpu_us_per_delivery: Number(
                  ((stages.cpuMs * 1000) / (total * subscribers)).toFixed(2),
                ),
              }
            : {}),
        },
      },
    ];
  } finally {
    for (const c of clients) c.destroy();
    if (drainer) await stopChild(drainer);
    await stopChild(server.child);
    await nc.close();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') await serve(process.argv[3]!, process.argv[4]!);
if (process.argv[2] === '--drain') await drain(process.argv[3]!, Number(process.argv[4]));
