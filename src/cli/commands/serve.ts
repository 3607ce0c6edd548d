import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../core/errors.js';
import { startApi } from '../../http/server.js';
import { createLogger } from '../../util/logger.js';

/** `sluice serve`: only the REST API of the config (no sources, no sinks). */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run only the REST API of the config (no change capture)')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .action(async (opts: { config: string }) => {
      const cfg = await loadConfig(opts.config);
      if (!cfg.api) throw new ConfigError(`${opts.config}: no api section to serve`, ['api: missing']);
      const log = createLogger(process.env.SLUICE_LOG_LEVEL ?? cfg.log.level);
      const api = await startApi(cfg, log);
      process.stdout.write(
        `REST API on ${api.url}${cfg.api.basePath} (docs: ${api.url}${cfg.api.basePath}/docs)\n`,
      );
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping');
          api.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
