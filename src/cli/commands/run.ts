import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { startRuntime } from '../../pipeline/runtime.js';
import { createLogger } from '../../util/logger.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run every configured source (and the REST API when `api` is set)')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .action(async (opts: { config: string }) => {
      const cfg = await loadConfig(opts.config);
      const log = createLogger(process.env.SLUICE_LOG_LEVEL ?? cfg.log.level);
      const rt = await startRuntime(cfg, log);
      const onSignal = (sig: string) => {
        log.info({ signal: sig }, 'stopping');
        void rt.stop();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      log.info({ sources: cfg.sources.map((s) => s.name) }, 'sluice running');
      await rt.done;
    });
}
