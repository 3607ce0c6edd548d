// `npm run bench [-- --quick] [-- --peers] [-- --only pg,rest,polling,mysql,delivery.feed,delivery.webhook,sink.apply,peers]`:
// every figure beside a baseline measured in the same run; prints a table and writes
// bench-results.json at the repository root. `--peers` adds the peers suite (Platformatic DB,
// installed into a temporary directory), which otherwise runs only when `--only` names it.
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { runCdcBench } from './cdc.js';
import { exitCode, runSuites, type Suite } from './runner.js';
import type { BenchOptions } from './types.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg =
  args.find((a) => a.startsWith('--only='))?.slice(7) ??
  (args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined);
const peers = args.includes('--peers');
const only = onlyArg ? new Set(onlyArg.split(',')) : null;

const log = (line: string) => process.stderr.write(`${line}\n`);
const opts: BenchOptions = { quick, log };

const suites: Suite[] = [
  ['pg', () => runCdcBench(opts)],
  ['rest', async () => (await import('./rest.js')).runRestBench(opts)],
  ['polling', async () => (await import('./polling.js')).runPollingBench(opts)],
  ['mysql', async () => (await import('./mysql.js')).runMysqlBench(opts)],
  ['delivery.feed', async () => (await import('./feed.js')).runFeedBench(opts)],
  ['delivery.webhook', async () => (await import('./webhook.js')).runWebhookBench(opts)],
  ['sink.apply', async () => (await import('./sink.js')).runSinkBench(opts)],
  ['peers', async () => (await import('./peers.js')).runPeersBench(opts)],
];
const skipped = peers || only?.has('peers') ? new Set<string>() : new Set(['peers']);

const started = Date.now();
const outcome = await runSuites(
  suites.filter(([n]) => !skipped.has(n)),
  only,
  log,
);
const { results, failed } = outcome;

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) >= 100 ? 0 : 2));
const rows = results.map((r) => [
  r.name,
  `${fmt(r.value)} ${r.unit}`,
  r.baseline ? `${fmt(r.baseline.value)} (${r.baseline.name})` : '—',
  r.ratio === null ? '—' : fmt(r.ratio),
  r.extra
    ? Object.entries(r.extra)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
    : '',
]);
const head = ['figure', 'value', 'baseline', 'ratio', 'details'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
process.stdout.write(
  `${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}\n`,
);

const machine = {
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? '',
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
};
const file = join(resolve(import.meta.dirname, '..'), 'bench-results.json');
await writeFile(
  file,
  `${JSON.stringify({ quick, peers, machine, seconds: Math.round((Date.now() - started) / 1000), failed, results }, null, 2)}\n`,
);
log(`wrote ${file}`);
const code = exitCode(outcome);
if (code !== 0)
  log(`bench: ${failed.length > 0 ? `failed suites: ${failed.join(', ')}` : 'unknown suite in --only'}`);
process.exit(code);
