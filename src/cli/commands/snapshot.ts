// `sluice snapshot <source> [table...]`: asks the running `sluice run` for an online re-snapshot
// (the source must support it: see SourceAdapter.requestSnapshot) and follows its progress in the
// committed offset, on one updating line on a terminal.
import type { Command } from 'commander';
import { Kvm } from '@nats-io/kv';
import { loadConfig } from '../../config/load.js';
import { parseDuration } from '../../config/duration.js';
import { ConfigError } from '../../core/errors.js';
import { connectNats } from '../../nats/connection.js';
import { KvOffsetStore } from '../../nats/offset-store.js';
import { createSourceAdapter } from '../../pipeline/adapters.js';
import { createLogger } from '../../util/logger.js';

export function registerSnapshot(program: Command): void {
  program
    .command('snapshot')
    .description('re-snapshot tables online while streaming goes on (postgres sources)')
    .argument('<source>', 'source name')
    .argument('[tables...]', 'schema.table names (default: every captured table)')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--no-wait', 'send the request and return')
    .option('--timeout <duration>', 'stop waiting after this long (the re-snapshot goes on)', '1h')
    .action(
      async (name: string, tables: string[], opts: { config: string; wait: boolean; timeout: string }) => {
        const cfg = await loadConfig(opts.config);
        const source = cfg.sources.find((s) => s.name === name);
        if (!source) throw new ConfigError(`no source named ${name} in ${opts.config}`);
        const timeoutMs = parseDuration(opts.timeout);
        if (timeoutMs === null)
          throw new ConfigError(`--timeout: expected a duration like 30m, got ${opts.timeout}`);
        for (const t of tables)
          if (!/^[^.\s]+\.[^.\s]+$/.test(t)) throw new ConfigError(`${t}: expected schema.table`);
        const adapter = await createSourceAdapter(source, createLogger('error'));
        try {
          if (!adapter.requestSnapshot)
            throw new ConfigError(`source ${name} (kind ${source.kind}) cannot re-snapshot online`);
          const id = await adapter.requestSnapshot(tables);
          process.stdout.write(
            `re-snapshot ${id} requested for ${tables.length > 0 ? tables.join(', ') : 'every table'} of ${name}\n`,
          );
          if (!opts.wait) return;
          const nc = await connectNats({ ...cfg.nats }, undefined, 'sluice-snapshot');
          try {
            const store = new KvOffsetStore(await new Kvm(nc).open(cfg.nats.kvBucket));
            const tty = process.stdout.isTTY;
            const deadline = Date.now() + timeoutMs;
            let seen = false;
            let line = '';
            while (Date.now() < deadline) {
              const stored = await store.load(name).catch(() => null);
              const text = stored ? adapter.offsets.describe(adapter.offsets.parse(stored.offset)) : '';
              const running = text.includes(`re-snapshot ${id}`);
              if (running) {
                seen = true;
                const progress = text.slice(text.indexOf(`re-snapshot ${id}`));
                if (progress !== line) {
                  line = progress;
                  process.stdout.write(tty ? `\r\x1b[K${progress}` : `${progress}\n`);
                }
              } else if (seen) {
                process.stdout.write(`${tty ? '\r\x1b[K' : ''}re-snapshot ${id} complete\n`);
                return;
              }
              await new Promise((r) => setTimeout(r, 500));
            }
            process.stdout.write(`\nstill running after ${opts.timeout}; follow it with sluice status\n`);
            process.exitCode = 1;
          } finally {
            await nc.close();
          }
        } finally {
          await adapter.close();
        }
      },
    );
}
