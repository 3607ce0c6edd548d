// The delivery log: every attempt of every webhook, in a JetStream stream of its own, bounded by
// age and size. Its subjects (`<prefix>_webhook_log.<webhook>`) are outside `<prefix>.>`, so the
// main stream never captures them (src/nats/provision.ts).
import {
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { SluiceConfig } from '../../config/schema.js';
import { isStreamNotFound } from '../../nats/jetstream-errors.js';

const NANOS = 1_000_000;

export const deliveryAttemptSchema = z.object({
  webhook: z.string(),
  eventId: z.string(),
  resource: z.string(),
  type: z.string(),
  /** The key fields (API form), null for truncated. */
  key: z.unknown(),
  /** 1 for the first attempt of an event; counts on across retries. */
  attempt: z.number().int(),
  status: z.number().int().nullable(),
  statusClass: z.string(),
  latencyMs: z.number(),
  error: z.string().nullable(),
  outcome: z.enum(['delivered', 'failed', 'gone']),
  /** ISO time the attempt started. */
  at: z.string(),
  /** Sent by `sluice dlq replay`. */
  replay: z.boolean().optional(),
});
export type DeliveryAttempt = z.infer<typeof deliveryAttemptSchema>;

export function deliveryLogStream(cfg: Pick<SluiceConfig, 'nats'>): string {
  return `${cfg.nats.stream}_WEBHOOK_LOG`;
}

export function deliveryLogSubject(prefix: string, webhook?: string): string {
  return `${prefix}_webhook_log.${webhook ?? '>'}`;
}

export async function ensureDeliveryLog(
  jsm: JetStreamManager,
  cfg: Pick<SluiceConfig, 'nats' | 'deliveryLog'>,
): Promise<void> {
  const settings: Partial<StreamConfig> & { name: string } = {
    name: deliveryLogStream(cfg),
    subjects: [deliveryLogSubject(cfg.nats.subjectPrefix)],
    storage: cfg.nats.streamConfig.storage === 'memory' ? 'memory' : 'file',
    num_replicas: cfg.nats.streamConfig.replicas,
    max_age: cfg.deliveryLog.maxAge * NANOS,
    max_bytes: cfg.deliveryLog.maxBytes,
    // A log: when full, the oldest attempts go.
    discard: 'old',
  };
  try {
    const info = await jsm.streams.info(settings.name);
    if (info.config.max_age !== settings.max_age || info.config.max_bytes !== settings.max_bytes)
      await jsm.streams.update(settings.name, {
        ...info.config,
        max_age: settings.max_age,
        max_bytes: settings.max_bytes,
      });
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
    await jsm.streams.add(settings);
  }
}

export interface DeliveryLogWriter {
  /** Records one attempt; failures are reported, never thrown (the delivery itself goes on). */
  record(a: DeliveryAttempt): Promise<void>;
}

export function deliveryLogWriter(
  js: JetStreamClient,
  prefix: string,
  onError: (err: unknown) => void,
): DeliveryLogWriter {
  return {
    async record(a) {
      try {
        await js.publish(deliveryLogSubject(prefix, a.webhook), JSON.stringify(a), { timeout: 5000 });
      } catch (err) {
        onError(err);
      }
    },
  };
}

/**
 * The last `limit` attempts of one webhook (only failed ones with `failed`), oldest first. Reads
 * the log backwards in windows of stream sequences, each read forward by an ordered consumer from
 * its first sequence, so only about the last `limit` attempts are read, not the whole log: the
 * first window is sized from this webhook's share of the stream, and each next one (further back)
 * is twice as long, for when failures are rare or the share was uneven. `stats.scanned` counts the
 * messages read.
 */
export async function readDeliveries(
  nc: NatsConnection,
  cfg: Pick<SluiceConfig, 'nats'>,
  webhook: string,
  opts: { failed?: boolean; limit: number; stats?: { scanned: number } },
): Promise<DeliveryAttempt[]> {
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const stream = deliveryLogStream(cfg);
  const subject = deliveryLogSubject(cfg.nats.subjectPrefix, webhook);
  const info = await jsm.streams.info(stream, { subjects_filter: subject }).catch(() => null);
  const count = info ? Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0) : 0;
  if (!info || count === 0 || opts.limit <= 0) return [];
  const lastOfSubject = await jsm.streams
    .getMessage(stream, { last_by_subj: subject })
    .then((m) => m?.seq ?? null)
    .catch(() => null);
  if (lastOfSubject === null) return [];
  const first = info.state.first_seq;
  let span = Math.max(64, Math.ceil(((opts.limit * info.state.messages) / count) * 1.25));
  const found: DeliveryAttempt[] = [];
  // Every window ends at or before this subject's last message, so reading it forward always
  // reaches a message at or past the window's end.
  for (let end = lastOfSubject; end >= first && found.length < opts.limit; span *= 2) {
    const start = Math.max(first, end - span + 1);
    found.unshift(...(await readWindow(js, stream, subject, start, end, opts)));
    end = start - 1;
  }
  return found.slice(-opts.limit);
}

/** The attempts (of `subject`, failed ones only with `failed`) stored at sequences start..end. */
async function readWindow(
  js: JetStreamClient,
  stream: string,
  subject: string,
  start: number,
  end: number,
  opts: { failed?: boolean; stats?: { scanned: number } },
): Promise<DeliveryAttempt[]> {
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: start,
  });
  const out: DeliveryAttempt[] = [];
  try {
    for (;;) {
      const batch = await consumer.fetch({ max_messages: Math.min(1024, end - start + 1), expires: 2000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        if (m.seq > end) return out;
        if (opts.stats) opts.stats.scanned++;
        const a = deliveryAttemptSchema.safeParse(m.json());
        if (a.success && (!opts.failed || a.data.outcome !== 'delivered')) out.push(a.data);
        if (m.seq === end || m.info.pending === 0) return out;
      }
      // Nothing more arrived (the log's tail aged out meanwhile): this window is done.
      if (got === 0) return out;
    }
  } finally {
    await consumer.delete().catch(() => {});
  }
}

/** One attempt as one readable line. */
export function formatAttempt(a: DeliveryAttempt): string {
  const status = a.status === null ? a.statusClass : String(a.status);
  const key = a.key === null ? '-' : JSON.stringify(a.key);
  const error = a.error ? `  ${a.error}` : '';
  return `${a.at}  ${a.outcome.padEnd(9)} ${status.padEnd(7)} ${String(a.latencyMs).padStart(6)} ms  #${a.attempt}  ${a.type} ${key}  ${a.eventId}${a.replay ? '  (replay)' : ''}${error}`;
}
