// Dead letters of a webhook: events retried until retry.maxAge (or unreadable), published on
// `<prefix>.dlq.webhooks.<name>` in the main stream with the last answer; listed and replayed by
// `sluice dlq list|replay <webhook>`.
import { DeliverPolicy, jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { SluiceConfig } from '../../config/schema.js';
import type { WebhookConfig } from '../../config/webhooks.js';
import { escapeToken } from '../../nats/subjects.js';
import { deliveryLogWriter } from './delivery-log.js';
import { WebhookSender, type SendOutcome } from './webhook-sender.js';

export function webhookDeadLetterSubject(prefix: string, webhook: string): string {
  return `${prefix}.dlq.webhooks.${escapeToken(webhook)}`;
}

export const deadLetterSchema = z.object({
  webhook: z.string(),
  eventId: z.string(),
  resource: z.string(),
  type: z.string(),
  key: z.unknown(),
  /** The CloudEvent exactly as it was sent (the body that was signed). */
  body: z.string(),
  /** Sequence of the event in the main stream. */
  streamSeq: z.number().int(),
  attempts: z.number().int(),
  firstAttemptAt: z.string().nullable(),
  deadLetteredAt: z.string(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  /** The first bytes of the last response body (at most 1 KiB). */
  bodyExcerpt: z.string().nullable(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

/**
 * Publishes one dead letter and waits for the stream to store it. Its Nats-Msg-Id names the webhook
 * and the event, so a redelivery after a crash between this and the ack stores it once.
 */
export async function publishDeadLetter(js: JetStreamClient, prefix: string, d: DeadLetter): Promise<void> {
  await js.publish(webhookDeadLetterSubject(prefix, d.webhook), JSON.stringify(d), {
    msgID: `dlq/webhooks/${d.webhook}/${d.eventId}`,
    timeout: 10_000,
  });
}

export interface StoredDeadLetter {
  /** Sequence of the dead letter itself (what replay deletes). */
  readonly seq: number;
  readonly letter: DeadLetter;
}

/** Every dead letter of one webhook the stream holds, oldest first. */
export async function listDeadLetters(
  nc: NatsConnection,
  cfg: Pick<SluiceConfig, 'nats'>,
  webhook: string,
): Promise<StoredDeadLetter[]> {
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const subject = webhookDeadLetterSubject(cfg.nats.subjectPrefix, webhook);
  const info = await jsm.streams.info(cfg.nats.stream, { subjects_filter: subject }).catch(() => null);
  const total = info ? Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0) : 0;
  if (total === 0) return [];
  const consumer = await js.consumers.get(cfg.nats.stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const out: StoredDeadLetter[] = [];
  const messages = await consumer.consume({ max_messages: 1024 });
  for await (const m of messages) {
    const parsed = deadLetterSchema.safeParse(m.json());
    if (parsed.success) out.push({ seq: m.seq, letter: parsed.data });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

export interface ReplayReport {
  replayed: number;
  failed: number;
  /** Set when the endpoint answered 410 (replay stops there). */
  gone: boolean;
}

/**
 * Sends the dead letters again, oldest first, through the same signing and retry path as live
 * delivery (`maxAgeMs` bounds each one's retries); each one accepted is deleted from the stream,
 * the others stay.
 */
export async function replayDeadLetters(
  nc: NatsConnection,
  cfg: Pick<SluiceConfig, 'nats'>,
  webhook: WebhookConfig,
  opts: { maxAgeMs: number; signal: AbortSignal; onResult?: (d: StoredDeadLetter, o: SendOutcome) => void },
): Promise<ReplayReport> {
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const sender = new WebhookSender(
    { ...webhook, retry: { ...webhook.retry, maxAge: opts.maxAgeMs } },
    { log: deliveryLogWriter(js, cfg.nats.subjectPrefix, () => {}), replay: true },
  );
  const report: ReplayReport = { replayed: 0, failed: 0, gone: false };
  try {
    for (const d of await listDeadLetters(nc, cfg, webhook.name)) {
      const { letter } = d;
      const outcome = await sender.send(
        {
          id: letter.eventId,
          body: letter.body,
          resource: letter.resource,
          type: letter.type,
          key: letter.key,
        },
        opts.signal,
      );
      opts.onResult?.(d, outcome);
      if (outcome.kind === 'delivered') {
        await jsm.streams.deleteMessage(cfg.nats.stream, d.seq, false);
        report.replayed++;
      } else report.failed++;
      if (outcome.kind === 'gone') {
        report.gone = true;
        break;
      }
      if (outcome.kind === 'aborted') break;
    }
  } finally {
    await sender.close(); // the TLS agent's connections, if any
  }
  return report;
}
