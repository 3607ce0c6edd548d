import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { parseDuration } from '../../config/duration.js';
import { ConfigError } from '../../core/errors.js';
import type { VerifyRunReport } from '../../sink/verify-run.js';
import { EXIT_RUNTIME } from '../exit-codes.js';

/** Most differing rows the readable report prints per table (--json has them all). */
const SHOWN = 20;

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .argument('<source>', 'the source database (a sources[] name)')
    .argument('<sink>', 'the sink applying it (a sinks[] name)')
    .description('compare a source database with a sink target through the mapping; exit 0 only when equal')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--json', 'print the report as JSON')
    .option('--chunk-size <n>', 'rows per checksummed chunk', '10000')
    .option(
      '--wait <duration>',
      'how long to wait for the sink to catch up before re-checking differences',
      '30s',
    )
    .action(
      async (
        sourceName: string,
        sinkName: string,
        opts: { config: string; json?: boolean; chunkSize: string; wait: string },
      ) => {
        const cfg = await loadConfig(opts.config);
        const chunkSize = Number(opts.chunkSize);
        const waitMs = parseDuration(opts.wait);
        if (!Number.isInteger(chunkSize) || chunkSize < 2)
          throw new ConfigError('--chunk-size: expected an integer ≥ 2');
        if (waitMs === null) throw new ConfigError('--wait: expected a duration like 30s');
        const { runVerify } = await import('../../sink/verify-run.js');
        const { streamPosition } = await import('../../nats/stream-position.js');
        const position = await streamPosition(cfg.nats, sourceName);
        const tty = process.stderr.isTTY && !opts.json;
        try {
          const report = await runVerify(cfg, sourceName, sinkName, {
            chunkSize,
            leafSize: 256,
            waitMs,
            streamSeq: () => position.lastSeq(),
            ...(tty
              ? {
                  onProgress: (table: string, done: number, total: number) => {
                    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
                    const bar = '#'.repeat(Math.floor(pct / 4)).padEnd(25, '.');
                    process.stderr.write(`\r${table} [${bar}] ${pct}% ${done}/${total} rows`);
                    if (done >= total) process.stderr.write('\n');
                  },
                  onPhase: (text: string) => process.stderr.write(`${text}\n`),
                }
              : {}),
          });
          process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : readable(report));
          if (!report.equal) process.exitCode = EXIT_RUNTIME;
        } finally {
          await position.close();
        }
      },
    );
}

function readable(r: VerifyRunReport): string {
  const lines: string[] = [];
  const at =
    r.streamSeq === null ? 'no stream position (NATS unreachable)' : `stream sequence ${r.streamSeq}`;
  lines.push(`verify ${r.source} → ${r.sink} at ${at}: ${r.equal ? 'EQUAL' : 'DIFFERENT'}`);
  for (const t of r.tables) {
    lines.push(
      `  ${t.table} → ${t.target}: ${t.sourceRows} / ${t.targetRows} rows, ${t.chunks} chunks by ${t.mode}, ` +
        `${t.differences.length === 0 ? 'equal' : `${t.differences.length} differ`}`,
    );
    for (const d of t.differences.slice(0, SHOWN)) {
      const key = Object.entries(d.key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(', ');
      const what =
        d.kind === 'changed'
          ? `changed: ${(d.columns ?? []).map((c) => `${c} ${JSON.stringify(d.source?.[c] ?? null)} ≠ ${JSON.stringify(d.target?.[c] ?? null)}`).join('; ')}`
          : d.kind === 'missing'
            ? 'missing in the target'
            : 'extra in the target (not in the source)';
      lines.push(`    ${key}: ${what}`);
    }
    if (t.differences.length > SHOWN)
      lines.push(`    … ${t.differences.length - SHOWN} more (--json lists all)`);
  }
  if (r.recheckedAtSeq !== null)
    lines.push(`  differences re-checked with the sink at sequence ${r.recheckedAtSeq}`);
  lines.push(`  ${r.rows} rows in ${(r.durationMs / 1000).toFixed(1)} s`);
  return `${lines.join('\n')}\n`;
}
