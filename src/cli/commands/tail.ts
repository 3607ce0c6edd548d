import type { Command } from 'commander';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../core/errors.js';
import { connectNats } from '../../nats/connection.js';
import { toStoredEvent, type StoredEvent } from '../../nats/stream-reader.js';

export function registerTail(program: Command): void {
  program
    .command('tail')
    .argument('[subject]', 'subject filter, e.g. sluice.erp.> (default: every event)')
    .description('print events from the stream, readable')
    .option('-c, --config <file>', 'config file (for the NATS servers and stream)', 'sluice.yaml')
    .option('-s, --server <url>', 'NATS server (overrides the config)')
    .option('--stream <name>', 'stream name (overrides the config)')
    .option('--from-start', 'start at the first stored event instead of new ones')
    .option('--json', 'print each event as one JSON line')
    .option('-n, --limit <n>', 'stop after n events', (v) => Number(v))
    .action(
      async (
        subject: string | undefined,
        opts: {
          config: string;
          server?: string;
          stream?: string;
          fromStart?: boolean;
          json?: boolean;
          limit?: number;
        },
      ) => {
        let servers = opts.server ? [opts.server] : null;
        let stream = opts.stream ?? null;
        let prefix = 'sluice';
        if (!servers || !stream) {
          try {
            const cfg = await loadConfig(opts.config);
            servers ??= cfg.nats.servers;
            stream ??= cfg.nats.stream;
            prefix = cfg.nats.subjectPrefix;
          } catch (err) {
            if (!(err instanceof ConfigError) || !/cannot read config file/.test(err.message)) throw err;
            servers ??= [process.env.NATS_URL ?? 'nats://127.0.0.1:4222'];
            stream ??= 'SLUICE';
          }
        }
        const nc = await connectNats({ servers });
        const js = jetstream(nc);
        const consumer = await js.consumers.get(stream, {
          filter_subjects: subject ?? `${prefix}.>`,
          deliver_policy: opts.fromStart ? DeliverPolicy.All : DeliverPolicy.New,
        });
        const messages = await consumer.consume();
        const stop = () => void messages.close();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        let n = 0;
        for await (const m of messages) {
          const e = toStoredEvent(m);
          process.stdout.write(
            opts.json
              ? `${JSON.stringify({ seq: e.seq, subject: e.subject, msgId: e.msgId, event: e.event })}\n`
              : formatEvent(e),
          );
          if (opts.limit && ++n >= opts.limit) break;
        }
        await nc.close();
      },
    );
}

const OPS: Record<string, string> = { r: 'READ  ', c: 'INSERT', u: 'UPDATE', d: 'DELETE', t: 'TRUNC ' };

/** One event as a few readable lines: what happened, to which row, and which columns changed. */
export function formatEvent(e: StoredEvent): string {
  const ev = e.event as {
    op: string;
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
    source: { schema: string; table: string; ts_ms: number; lsn?: string };
  };
  const when = new Date(ev.source.ts_ms).toISOString().replace('T', ' ').slice(0, 23);
  const head = `#${e.seq} ${when} ${OPS[ev.op] ?? ev.op} ${ev.source.schema}.${ev.source.table} key=${JSON.stringify(e.key)}`;
  const lines = [head];
  if (ev.op === 'u' && ev.before && ev.after) {
    for (const [k, v] of Object.entries(ev.after))
      if (JSON.stringify(ev.before[k]) !== JSON.stringify(v))
        lines.push(`    ${k}: ${JSON.stringify(ev.before[k])} → ${JSON.stringify(v)}`);
  } else if (ev.after) {
    lines.push(
      `    ${Object.entries(ev.after)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join('  ')}`,
    );
  } else if (ev.before) {
    lines.push(
      `    was ${Object.entries(ev.before)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join('  ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
