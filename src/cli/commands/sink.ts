import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../core/errors.js';

export function registerSink(program: Command): void {
  const sink = program.command('sink').description('sink tools (sinks: in the config)');
  sink
    .command('init')
    .argument('<sink>', 'a sinks[] name')
    .description("write a knex migration creating the sink's target tables, for review before it runs")
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('-d, --dir <dir>', 'where to write it', 'migrations')
    .action(async (name: string, opts: { config: string; dir: string }) => {
      const cfg = await loadConfig(opts.config);
      const s = cfg.sinks.find((x) => x.name === name);
      if (!s) throw new ConfigError(`no sink named ${name} in ${opts.config}`);
      const source = cfg.sources.find((x) => x.name === s.from)!;
      const { sinkInitMigration } = await import('../../sink/sink-init-run.js');
      const text = await sinkInitMigration(cfg, s, source);
      const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
      await mkdir(opts.dir, { recursive: true });
      const file = join(opts.dir, `${stamp}_sink_${name}.js`);
      await writeFile(file, text, { flag: 'wx' });
      process.stdout.write(`wrote ${file}: review it, then run it with knex (npx knex migrate:up)\n`);
    });
}
