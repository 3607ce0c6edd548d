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
function startChild(args: string[]): Promise<{ ready: string; child: ChildProcess }> {
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
      if (m) resolve({ ready: m[1]!, child });
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

/** Child process: the REST service with the change feed, printing READY <url>. */
async function serve(natsUrl: string, dbUrl: string): Promise<void> {
  const { startApi } = await import('../src/http/server.js');
  const { createLogger } = await import('../src/util/logger.js');
  const api = await startApi(await feedConfig(natsUrl, dbUrl), createLogger('error'));
  process.stdout.write(`READY ${api.url}\n`);
  process.once('SIGTERM', () => {
    api.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
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
    const sentAt = (data: string) => Number(JSON.parse(data).data.after.message);
    for (let i = 0; i < measured; i++)
      clients.push(await subscribe(url, (data) => feedLatencies.push(performance.now() - sentAt(data))));
    const sub = nc.subscribe(resourceWildcard(prefix, 'events'), {
      callback: (_err, m) => {
        natsLatencies.push(performance.now() - sentAt(m.string()));
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
          after: { id: tick * 10 + k, message: String(performance.now()) },
        }),
      );
      await publishResourceEventsJs(js, prefix, events);
    }
    const achieved = (total * 1000) / (performance.now() - started);
    const deadline = performance.now() + 30_000;
    while (feedLatencies.length < total * measured && performance.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    sub.unsubscribe();

    const feed = [...feedLatencies].sort((a, b) => a - b);
    const floor = [...natsLatencies].sort((a, b) => a - b);
    const p99 = percentile(feed, 99);
    const natsP99 = percentile(floor, 99);
    const lost = total * measured - feed.length;
    opts.log(
      `  feed: p50 ${percentile(feed, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; NATS subscriber p99 ${natsP99.toFixed(1)} ms`,
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
