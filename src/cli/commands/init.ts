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

/** True when the URL carries a secret: a password, or a query parameter that names one. */
export function urlHasSecret(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false; // not a URL (a bare sqlite: path): nothing secret in it
  }
  if (u.password !== '') return true;
  return [...u.searchParams.keys()].some((k) => /pass|secret|token|key|credential|auth/i.test(k));
}

/** `<DBNAME>_DATABASE_URL` from the URL's database name, else `DATABASE_URL`. */
export function databaseUrlVariable(url: string): string {
  let db = '';
  try {
    db = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  } catch {
    // no database name to take
  }
  const stem = db
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toUpperCase();
  return stem !== '' && /^[A-Z]/.test(stem) ? `${stem}_DATABASE_URL` : 'DATABASE_URL';
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

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
      let secretVar: string | undefined;
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
        // A URL with a password goes into the file as a ${VAR} reference, never as written:
        // config files get committed and shared; the value is printed for the environment.
        secretVar = urlHasSecret(opts.url) ? databaseUrlVariable(opts.url) : undefined;
        const { config, notes } = buildStarterConfig({
          url: secretVar ? `\${${secretVar}}` : opts.url,
          tables: found.tables,
          samples: found.samples,
        });
        // What `sluice run` will load must validate as written (with the variable set).
        parseConfig(config, secretVar ? { [secretVar]: opts.url } : {});
        const header = [
          '# Starter config written by `sluice init`: names and codecs are suggestions; edit freely.',
          secretVar
            ? `# The database URL (it holds a password) is read from the environment: set ${secretVar}.`
            : '# Put secrets in the environment: database: ${DATABASE_URL}',
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
      if (secretVar)
        process.stderr.write(
          `sluice init: the config reads the database URL from \${${secretVar}} (it holds a password);\n` +
            `  set it in the environment of sluice serve/run, e.g.: export ${secretVar}=${shellQuote(opts.url)}\n`,
        );
    });
}
