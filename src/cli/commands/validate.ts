import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { createSourceAdapter } from '../../pipeline/adapters.js';
import { createLogger } from '../../util/logger.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description("check the config file (with --connect, each source's prerequisites too)")
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--connect', 'connect to each source and run its preflight checks')
    .action(async (opts: { config: string; connect?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      process.stdout.write(
        `${opts.config}: ok (${cfg.sources.length} source${cfg.sources.length === 1 ? '' : 's'}${cfg.api ? ', api' : ''})\n`,
      );
      if (!opts.connect) return;
      const log = createLogger('warn');
      let failed = false;
      for (const s of cfg.sources) {
        const adapter = await createSourceAdapter(s, log);
        try {
          const report = await adapter.preflight();
          process.stdout.write(`source ${s.name} (${s.kind}): ${report.ok ? 'ready' : 'NOT READY'}\n`);
          for (const p of report.problems) process.stdout.write(`  - ${p}\n`);
          for (const w of report.warnings) process.stdout.write(`  ! ${w}\n`);
          failed ||= !report.ok;
        } finally {
          await adapter.close();
        }
      }
      if (failed) process.exitCode = 1;
    });
}
