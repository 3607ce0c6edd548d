import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { secrets } from '../../config/secrets.js';
import { connectNats } from '../../nats/connection.js';
import { statusRows } from '../../pipeline/status-rows.js';
import { createLogger } from '../../util/logger.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description(
      'per source: state, committed offset, lag, slot and retained WAL, resource router lag; per sink: position and lag; per webhook: backlog and paused state',
    )
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      // A detail or error text never shows a secret the config loaded.
      const print = (text: string) => process.stdout.write(secrets.redact(text));
      const log = createLogger('error');
      const nc = await connectNats({ ...cfg.nats }, undefined, 'sluice-status');
      let out: Record<string, unknown>[];
      try {
        out = await statusRows(cfg, nc, log);
      } finally {
        await nc.close();
      }
      if (opts.json) {
        print(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      for (const row of out) {
        print(
          typeof row.sink === 'string'
            ? `sink ${row.sink} (from ${row.from as string}): ${row.state as string}\n`
            : typeof row.member === 'string'
              ? `fleet member ${row.member}\n`
              : `${row.source} (${row.kind}): ${row.state}\n`,
        );
        for (const [k, v] of Object.entries(row)) {
          if (['source', 'kind', 'state', 'sink', 'from', 'member'].includes(k)) continue;
          const shown =
            typeof v === 'number' && /Bytes$/.test(k)
              ? `${v} (${formatBytes(v)})`
              : Array.isArray(v)
                ? v.join(', ')
                : String(v);
          print(`  ${k.padEnd(18)} ${shown}\n`);
        }
      }
    });
}

function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
