import type { Command } from 'commander';
import { DeliverPolicy, jetstream } from '@nats-io/jetstream';
import { loadConfig } from '../../config/load.js';
import { ConfigError } from '../../core/errors.js';
import { connectNats } from '../../nats/connection.js';
import type { NatsConnectConfig } from '../../nats/connect-options.js';
import { toStoredEvent, type StoredEvent } from '../../nats/stream-reader.js';
import { resourceEventSchema } from '../../delivery/resource-event.js';

export function registerTail(program: Command): void {
  program
    .command('tail')
    .argument('[subject]', "subject filter, e.g. sluice.erp.> or 'sluice.resources.>' (default: every event)")
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
        let nats: NatsConnectConfig | null = null;
        if (!servers || !stream) {
          try {
            const cfg = await loadConfig(opts.config);
            nats = cfg.nats;
            servers ??= cfg.nats.servers;
            stream ??= cfg.nats.stream;
            prefix = cfg.nats.subjectPrefix;
          } catch (err) {
            if (!(err instanceof ConfigError) || !/cannot read config file/.test(err.message)) throw err;
            servers ??= [process.env.NATS_URL ?? 'nats://127.0.0.1:4222'];
            stream ??= 'SLUICE';
          }
        }
        // TLS and credentials come from the config even when --server overrides the URL.
        const nc = await connectNats({ ...nats, servers }, undefined, 'sluice-tail');
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

const fields = (row: Record<string, unknown>) =>
  Object.entries(row)
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join('  ');

/** Changed values, `name: old → new`, one per line. */
function changes(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(after))
    if (JSON.stringify(before[k]) !== JSON.stringify(v))
      out.push(`    ${k}: ${JSON.stringify(before[k])} → ${JSON.stringify(v)}`);
  return out;
}

/**
 * A resource event (a CloudEvent in API shape) as a few lines: type, key and commit time, then
 * the fields (created, snapshot), what changed (updated) or what was there (deleted).
 */
export function formatResourceEvent(e: StoredEvent): string | null {
  const parsed = resourceEventSchema.safeParse(e.event);
  if (!parsed.success) return null;
  const ev = parsed.data;
  const when = ev.time.replace('T', ' ').replace('Z', '');
  const lines = [`#${e.seq} ${when} ${ev.type} ${ev.subject ?? '(every row)'}`];
  const { after, before } = ev.data;
  if (after && before) lines.push(...changes(before, after));
  else if (after) lines.push(`    ${fields(after)}`);
  else if (before) lines.push(`    was ${fields(before)}`);
  if (ev.data.unavailable) lines.push(`    not sent by the source: ${ev.data.unavailable.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

/** One event as a few readable lines: what happened, to which row, and which columns changed. */
export function formatEvent(e: StoredEvent): string {
  if ((e.event as { specversion?: unknown }).specversion !== undefined) {
    const resource = formatResourceEvent(e);
    if (resource !== null) return resource;
  }
  const ev = e.event as {
    op: string;
    before: Record<string, unknown> | null;
    after: Record<string, unknown> | null;
    source: { schema: string; table: string; ts_ms: number; lsn?: string };
  };
  const when = new Date(ev.source.ts_ms).toISOString().replace('T', ' ').slice(0, 23);
  const head = `#${e.seq} ${when} ${OPS[ev.op] ?? ev.op} ${ev.source.schema}.${ev.source.table} key=${JSON.stringify(e.key)}`;
  const lines = [head];
  if (ev.op === 'u' && ev.before && ev.after) lines.push(...changes(ev.before, ev.after));
  else if (ev.after) lines.push(`    ${fields(ev.after)}`);
  else if (ev.before) lines.push(`    was ${fields(ev.before)}`);
  return `${lines.join('\n')}\n`;
}
