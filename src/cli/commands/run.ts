import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { startRuntime } from '../../pipeline/runtime.js';
import { createLogger } from '../../util/logger.js';
import { StatusBoard } from '../../http/status-board.js';
import { startMetricsServer } from '../../util/metrics-server.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run every configured source, sink and webhook (and the REST API when `api` is set)')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .action(async (opts: { config: string }) => {
      const cfg = await loadConfig(opts.config);
      const log = createLogger(process.env.SLUICE_LOG_LEVEL ?? cfg.log.level);
      const rt = await startRuntime(cfg, log);
      // The REST service loads only when configured: a stream-only user never loads knex.
      const api = cfg.api ? await (await import('../../http/server.js')).startApi(cfg, log) : null;
      if (api) log.info({ url: api.url }, 'REST API listening');
      // Without the REST API, metrics.listen serves /metrics on its own.
      const metricsServer =
        !api && cfg.metrics.listen
          ? await startMetricsServer(cfg.metrics.listen, new StatusBoard(cfg, { log }))
          : null;
      if (metricsServer)
        log.info(
          { url: `${metricsServer.url}/metrics`, status: `${metricsServer.url}/status` },
          'metrics listening',
        );
      const stopped = new Promise<void>((resolve) => {
        const onSignal = (sig: string) => {
          log.info({ signal: sig }, 'stopping');
          void Promise.all([rt.stop(), api?.close()]).finally(resolve);
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      });
      log.info(
        {
          sources: cfg.sources.map((s) => s.name),
          sinks: cfg.sinks.map((s) => s.name),
          webhooks: cfg.webhooks.map((w) => w.name),
        },
        'sluice running',
      );
      try {
        // With sources, run until they stop (or one fails); an API-only config runs until a signal.
        await (cfg.sources.length + cfg.sinks.length > 0 ? Promise.race([rt.done, stopped]) : stopped);
        await rt.done;
      } finally {
        await api?.close();
        await metricsServer?.close();
      }
    });
}
