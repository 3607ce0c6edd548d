// `sluice deliveries <webhook>`, `sluice dlq list|replay <webhook>`, `sluice webhook resume <webhook>`.
import type { Command } from 'commander';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig } from '../../config/load.js';
import { parseDuration } from '../../config/duration.js';
import type { SluiceConfig } from '../../config/schema.js';
import type { WebhookConfig } from '../../config/webhooks.js';
import { ConfigError } from '../../core/errors.js';
import { formatAttempt, readDeliveries } from '../../delivery/webhooks/delivery-log.js';
import { listDeadLetters, replayDeadLetters } from '../../delivery/webhooks/webhook-dlq.js';
import { resumeWebhook } from '../../delivery/webhooks/webhook-state.js';
import { connectNats } from '../../nats/connection.js';
import { formatSourceDeadLetter, listSourceDeadLetters, replaySourceDeadLetters } from './source-dlq.js';

function findWebhook(cfg: SluiceConfig, name: string): WebhookConfig {
  const w = cfg.webhooks.find((x) => x.name === name);
  if (!w)
    throw new ConfigError(
      `no webhook named "${name}" in the config (webhooks: ${cfg.webhooks.map((x) => x.name).join(', ') || 'none'})`,
    );
  return w;
}

async function withNats<T>(cfg: SluiceConfig, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectNats({ ...cfg.nats }, undefined, 'sluice-cli');
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);

export function registerWebhooks(program: Command): void {
  program
    .command('deliveries')
    .argument('<webhook>', 'webhook name')
    .description('the delivery log of a webhook: every attempt, its status, latency and error')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--failed', 'only attempts that failed')
    .option('-n, --limit <n>', 'the last n attempts', (v) => Number(v), 50)
    .option('--json', 'one JSON object per line')
    .action(
      async (name: string, opts: { config: string; failed?: boolean; limit: number; json?: boolean }) => {
        const cfg = await loadConfig(opts.config);
        findWebhook(cfg, name);
        const rows = await withNats(cfg, (nc) =>
          readDeliveries(nc, cfg, name, { failed: opts.failed ?? false, limit: opts.limit }),
        );
        for (const a of rows) out(opts.json ? JSON.stringify(a) : formatAttempt(a));
        if (!opts.json && rows.length === 0)
          out(`no ${opts.failed ? 'failed ' : ''}attempts logged for ${name}`);
      },
    );

  const dlq = program
    .command('dlq')
    .description('dead letters of a webhook, a sink or a source: list them, or send (apply) them again');
  dlq
    .command('list')
    .argument('<name>', 'a webhook, a sink or a source')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option('--json', 'one JSON object per line')
    .action(async (name: string, opts: { config: string; json?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      if (cfg.sources.some((s) => s.name === name)) {
        const letters = await withNats(cfg, (nc) => listSourceDeadLetters(nc, cfg, name));
        for (const d of letters) out(opts.json ? JSON.stringify(d) : formatSourceDeadLetter(d));
        if (!opts.json)
          out(`${letters.length} dead letter${letters.length === 1 ? '' : 's'} for source ${name}`);
        return;
      }
      if (cfg.sinks.some((s) => s.name === name)) {
        const { formatSinkDeadLetter, listSinkDeadLetters } = await import('../../sink/sink-dlq.js');
        const letters = await withNats(cfg, (nc) => listSinkDeadLetters(nc, cfg, name));
        for (const d of letters) out(opts.json ? JSON.stringify(d) : formatSinkDeadLetter(d));
        if (!opts.json)
          out(`${letters.length} dead letter${letters.length === 1 ? '' : 's'} for sink ${name}`);
        return;
      }
      findWebhook(cfg, name);
      const letters = await withNats(cfg, (nc) => listDeadLetters(nc, cfg, name));
      for (const { seq, letter: l } of letters)
        out(
          opts.json
            ? JSON.stringify({ seq, ...l })
            : `#${seq} ${l.deadLetteredAt}  ${l.type} ${JSON.stringify(l.key)}  ${l.eventId}  after ${l.attempts} attempts: ${l.lastError ?? ''}${l.bodyExcerpt ? `  body: ${JSON.stringify(l.bodyExcerpt.slice(0, 120))}` : ''}`,
        );
      if (!opts.json) out(`${letters.length} dead letter${letters.length === 1 ? '' : 's'} for ${name}`);
    });
  dlq
    .command('replay')
    .argument(
      '<name>',
      'a webhook (sends again), a sink (applies again, after the target was fixed) or a source (publishes again)',
    )
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .option(
      '--max-age <duration>',
      "webhooks: retry each one this long (default: the webhook's retry.maxAge)",
    )
    .option('--force', 'sources: also replay events the stream holds a later change of the same key for')
    .action(async (name: string, opts: { config: string; maxAge?: string; force?: boolean }) => {
      const cfg = await loadConfig(opts.config);
      if (cfg.sources.some((s) => s.name === name)) {
        const report = await withNats(cfg, (nc) =>
          replaySourceDeadLetters(nc, cfg, name, {
            force: opts.force ?? false,
            onResult: (d, o) =>
              out(
                o.kind === 'replayed'
                  ? `#${d.seq} replayed as #${o.seq}${o.duplicate ? ' (the stream already held it)' : ''}`
                  : `#${d.seq} kept: ${o.reason}`,
              ),
          }),
        );
        out(`replayed ${report.replayed}, kept ${report.kept} for source ${name}`);
        if (report.kept > 0) process.exitCode = 1;
        return;
      }
      const sink = cfg.sinks.find((s) => s.name === name);
      if (sink) {
        const { formatSinkDeadLetter, replaySinkDeadLetters } = await import('../../sink/sink-dlq.js');
        const report = await withNats(cfg, (nc) =>
          replaySinkDeadLetters(nc, cfg, sink, (d, o, why) =>
            out(`${formatSinkDeadLetter(d)} -> ${o}${why ? `: ${why}` : ''}`),
          ),
        );
        out(`replayed ${report.replayed}, superseded ${report.superseded}, still refused ${report.refused}`);
        if (report.refused > 0) process.exitCode = 1;
        return;
      }
      const w = findWebhook(cfg, name);
      const maxAgeMs = opts.maxAge === undefined ? w.retry.maxAge : parseDuration(opts.maxAge);
      if (maxAgeMs === null)
        throw new ConfigError(`--max-age: expected a duration like 30s, got ${opts.maxAge}`);
      const controller = new AbortController();
      process.once('SIGINT', () => controller.abort());
      const report = await withNats(cfg, (nc) =>
        replayDeadLetters(nc, cfg, w, {
          maxAgeMs,
          signal: controller.signal,
          onResult: (d, o) => out(`#${d.seq} ${d.letter.eventId}: ${o.kind}`),
        }),
      );
      out(
        `replayed ${report.replayed}, still dead ${report.failed}${report.gone ? ' (the endpoint answered 410 Gone)' : ''}`,
      );
      if (report.failed > 0) process.exitCode = 1;
    });

  program
    .command('webhook')
    .description('webhook endpoint control')
    .command('resume')
    .argument('<webhook>', 'webhook name')
    .description('resume an endpoint paused by a 410 Gone (a running sluice notices within a second)')
    .option('-c, --config <file>', 'config file', 'sluice.yaml')
    .action(async (name: string, opts: { config: string }) => {
      const cfg = await loadConfig(opts.config);
      findWebhook(cfg, name);
      const resumed = await withNats(cfg, async (nc) =>
        resumeWebhook(await new Kvm(nc).open(cfg.nats.kvBucket), name),
      );
      out(resumed ? `${name} resumed` : `${name} was not paused`);
    });
}
