import { access, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { openDatabase } from '../../sql/database.js';
import { introspect } from '../../sql/introspect.js';
import { buildStarterConfig } from '../../resources/starter-config.js';
import { parseConfig } from '../../config/load.js';
import { ConfigError, SourceUnavailableError, errorMessage } from '../../core/errors.js';

interface InitOptions {
  url: string;
  tables?: string[];
  output?: string;
  force?: boolean;
}

/** `sluice init --url <db>`: introspects tables, keys and foreign keys and writes a starter config. */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description(
      'introspect a database (PostgreSQL, MySQL/MariaDB, SQLite, SQL Server, Oracle) and write a starter config',
    )
    .requiredOption(
      '--url <url>',
      'database URL: postgres://, mysql://, mariadb://, sqlite:<file>, mssql:// or oracle://',
    )
    .option('--tables <names...>', 'only these tables (space- or comma-separated; schema.table or table)')
    .option('-o, --output <file>', 'write here instead of standard output')
    .option('--force', 'overwrite the output file')
    .action(async (opts: InitOptions) => {
      if (opts.output && !opts.force) {
        const exists = await access(opts.output).then(
          () => true,
          () => false,
        );
        if (exists)
          throw new ConfigError(`${opts.output} exists; pass --force to overwrite`, ['--output: exists']);
      }
      const db = await openDatabase(opts.url);
      let text: string;
      try {
        const wanted = opts.tables?.flatMap((t) => t.split(',')).filter(Boolean);
        const found = await introspect(db, wanted).catch((err: unknown) => {
          if (db.dialect.isUnavailable(err))
            throw new SourceUnavailableError(`cannot reach the database: ${errorMessage(err)}`, {
              cause: err,
            });
          throw err;
        });
        if (found.tables.length === 0) throw new ConfigError('no tables found', ['--url: no tables']);
        const { config, notes } = buildStarterConfig({
          url: opts.url,
          tables: found.tables,
          samples: found.samples,
        });
        parseConfig(config, {}); // what `sluice run` will load must validate as written
        const header = [
          '# Starter config written by `sluice init`: names and codecs are suggestions; edit freely.',
          '# Put secrets in the environment: database: ${DATABASE_URL}',
          ...notes.map((n) => `# NOTE: ${n}`),
        ].join('\n');
        text = `${header}\n${stringify(config, { lineWidth: 0 })}`;
        for (const n of notes) process.stderr.write(`sluice init: ${n}\n`);
      } finally {
        await db.close();
      }
      if (opts.output) {
        await writeFile(opts.output, text);
        process.stderr.write(`sluice init: wrote ${opts.output}\n`);
      } else process.stdout.write(text);
    });
}
