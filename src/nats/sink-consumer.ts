// A sink's durable JetStream pull consumer: one filter subject (`<prefix>.<source>.>`, so it works
// on nats-server 2.9), explicit acks that cover everything before them (AckPolicy.All). The target
// database holds the truth about what was applied, so each start re-creates the consumer at the
// stored sequence + 1: a message delivered to an earlier, abandoned subscription can never be
// acknowledged past without being applied.
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { ChangeEvent } from '../core/change-event.js';
import type { SinkEvent } from '../sink/sink-apply.js';
import { jsApiCode, JsApiCode } from './jetstream-errors.js';
import { parseMsgId, sourceWildcard } from './subjects.js';

const NANOS = 1_000_000;

export function sinkConsumerName(sink: string): string {
  return `sluice-sink-${sink}`;
}

export interface SinkConsumerOptions {
  readonly stream: string;
  readonly prefix: string;
  readonly sink: string;
  readonly source: string;
  /** Messages pulled ahead of the one being applied. */
  readonly buffer: number;
}

/** (Re)creates the durable consumer to start after `seq` and opens its message iterator. */
export async function openSinkConsumer(
  nc: NatsConnection,
  jsm: JetStreamManager,
  o: SinkConsumerOptions,
  afterSeq: number,
): Promise<ConsumerMessages> {
  const durable = sinkConsumerName(o.sink);
  await jsm.consumers.delete(o.stream, durable).catch((err: unknown) => {
    if (jsApiCode(err) !== JsApiCode.ConsumerNotFound) throw err;
  });
  await jsm.consumers.add(o.stream, {
    durable_name: durable,
    filter_subject: sourceWildcard(o.prefix, o.source),
    ack_policy: AckPolicy.All,
    ...(afterSeq > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 }
      : { deliver_policy: DeliverPolicy.All }),
    max_ack_pending: Math.max(1000, o.buffer * 4),
    ack_wait: 60_000 * NANOS,
  });
  const consumer = await jetstream(nc).consumers.get(o.stream, durable);
  return consumer.consume({ max_messages: o.buffer });
}

/** Events of the sink's consumer not yet delivered (its lag), or null when it does not exist. */
export async function sinkConsumerPending(
  jsm: JetStreamManager,
  stream: string,
  sink: string,
): Promise<number | null> {
  try {
    const info = await jsm.consumers.info(stream, sinkConsumerName(sink));
    return info.num_pending + info.num_ack_pending;
  } catch {
    return null;
  }
}

/** The source position in a message's Nats-Msg-Id (null when it has none). */
export function msgPosition(m: JsMsg): string | null {
  const id = m.headers?.get('Nats-Msg-Id');
  return id ? (parseMsgId(id)?.position ?? null) : null;
}

/**
 * A stored change event as the sink applies it; null for what is not a change (a source's dead
 * letters). `position` is read only when `withPosition` (the sink needs it for a batch's last event).
 */
export function toSinkEvent(m: JsMsg, withPosition = false): SinkEvent | null {
  if (m.subject.endsWith('._dlq')) return null;
  const e = m.json<ChangeEvent>();
  const h = m.headers;
  const origin = h?.get('Sluice-Origin');
  return {
    seq: m.seq,
    position: withPosition ? msgPosition(m) : null,
    schema: e.source.schema,
    table: e.source.table,
    op: e.op,
    before: e.before,
    after: e.after,
    key: JSON.parse(h?.get('Sluice-Key') || 'null') as Record<string, unknown> | null,
    unavailable: (e.source as { unavailable?: string[] }).unavailable,
    origin: origin || e.origin,
    tsMs: e.source.ts_ms,
  };
}
