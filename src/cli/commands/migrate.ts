import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../util/logger.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate [source]')
    .description(
      'install (with --down, remove) the changelog table and capture triggers of a triggers source, ' +
        'or with --api the table Idempotency-Key needs in the API databases',
    )
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--api', 'install the idempotency table in each database where an API resource can be created')
    .option('--down', 'remove what migrate installed')
    .action(async (name: string | undefined, opts: { config: string; api?: boolean; down?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      const verb = opts.down ? 'remove' : 'install';
      if (opts.api) {
        if (name !== undefined) throw new ConfigError('migrate --api takes no source name');
        if (!cfg.api) throw new ConfigError(`${opts.config}: no api section`, ['api: missing']);
        const { migrateApi } = await import('../../http/server.js');
        const results = await migrateApi(cfg.api, cfg.sources, opts.down === true);
        if (results.length === 0)
          process.stdout.write(`api: no resource can be created: nothing to ${verb}\n`);
        for (const r of results)
          process.stdout.write(
            r.done.length === 0
              ? `api (${r.database}): nothing to ${verb}\n`
              : `api (${r.database}): ${opts.down ? 'removed' : 'installed'} ${r.done.join(', ')}\n`,
          );
        return;
      }
      if (name === undefined) throw new ConfigError('name a triggers source, or pass --api');
      const source = cfg.sources.find((s) => s.name === name);
      if (!source) throw new ConfigError(`no source named ${name} in ${opts.config}`);
      if (source.kind !== 'triggers')
        throw new ConfigError(`source ${name} is kind ${source.kind}: only triggers sources need migrate`);
      const { migrateSource } = await import('../../../adapters/triggers/triggers-migrate.js');
      const done = await migrateSource(source, createLogger('warn'), opts.down === true);
      process.stdout.write(
        done.length === 0
          ? `${name}: nothing to ${verb}\n`
          : `${name}: ${opts.down ? 'removed' : 'installed'} ${done.join(', ')}\n`,
      );
    });
}
