// Reads events back from the stream with an ordered consumer (one filter subject, so it works on
// nats-server 2.9 too). Used by `sluice tail`, the fault verifier and the tests.
import { jetstream, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

export interface StoredEvent {
  readonly seq: number;
  readonly subject: string;
  readonly msgId: string;
  readonly key: unknown;
  readonly event: Record<string, unknown>;
}

export function toStoredEvent(m: JsMsg): StoredEvent {
  return {
    seq: m.seq,
    subject: m.subject,
    msgId: m.headers?.get('Nats-Msg-Id') ?? '',
    key: JSON.parse(m.headers?.get('Sluice-Key') || 'null'),
    event: m.json(),
  };
}

/** Every event stored so far under `subject` (wildcards allowed), in stream order. */
export async function readAll(nc: NatsConnection, stream: string, subject: string): Promise<StoredEvent[]> {
  const js = jetstream(nc);
  const jsm = await js.jetstreamManager();
  const info = await jsm.streams.info(stream, { subjects_filter: subject }).catch(() => null);
  const total = info ? Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0) : 0;
  if (total === 0) return [];
  const consumer = await js.consumers.get(stream, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.All,
  });
  const out: StoredEvent[] = [];
  const messages = await consumer.consume({ max_messages: 4096 });
  for await (const m of messages) {
    out.push(toStoredEvent(m));
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}
