import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../core/errors.js';
import { createLogger } from '../../util/logger.js';

export function registerMigrate(program: Command): void {
  program
    .command('migrate <source>')
    .description(
      'install (with --down, remove) the changelog table and capture triggers of a triggers source',
    )
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--down', 'remove what migrate installed')
    .action(async (name: string, opts: { config: string; down?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      const source = cfg.sources.find((s) => s.name === name);
      if (!source) throw new ConfigError(`no source named ${name} in ${opts.config}`);
      if (source.kind !== 'triggers')
        throw new ConfigError(`source ${name} is kind ${source.kind}: only triggers sources need migrate`);
      const { migrateSource } = await import('../../../adapters/triggers/triggers-migrate.js');
      const done = await migrateSource(source, createLogger('warn'), opts.down === true);
      process.stdout.write(
        done.length === 0
          ? `${name}: nothing to ${opts.down ? 'remove' : 'install'}\n`
          : `${name}: ${opts.down ? 'removed' : 'installed'} ${done.join(', ')}\n`,
      );
    });
}
