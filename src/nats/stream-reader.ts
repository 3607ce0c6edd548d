// Reads events back from the stream with an ordered consumer (one filter subject, so it works on
// nats-server 2.9 too). Used by `sluice tail`, the fault verifier and the tests.
import { jetstream, DeliverPolicy, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsUnavailableError } from '../core/errors.js';
import type { SourceContext } from '../core/source-adapter.js';
import { describeNatsError, isNoMessageFound } from './jetstream-errors.js';
import { parseMsgId, sourceWildcard } from './subjects.js';

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

export interface LastPublishedOptions {
  /** Reads tried before giving up (default 5). */
  readonly attempts?: number;
  /** First pause between reads, doubled each time (default 200 ms). */
  readonly backoffMs?: number;
  readonly signal?: AbortSignal;
}

/**
 * The last event of `source` the stream holds, for an exact snapshot resume; null only when the
 * stream holds none. A read that fails is retried a few times and then thrown as a retriable
 * NatsUnavailableError: answering null instead would send a resumed snapshot back to its committed
 * chunk, which Msg-Id dedup can turn into lost rows.
 */
export async function lastPublished(
  jsm: Pick<JetStreamManager, 'streams'>,
  stream: string,
  prefix: string,
  source: string,
  opts: LastPublishedOptions = {},
): Promise<SourceContext['lastPublished']> {
  const attempts = opts.attempts ?? 5;
  let wait = opts.backoffMs ?? 200;
  let lastErr: unknown;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) {
      await new Promise((r) => setTimeout(r, wait));
      wait *= 2;
    }
    if (opts.signal?.aborted) break;
    try {
      const m = await jsm.streams.getMessage(stream, { last_by_subj: sourceWildcard(prefix, source) });
      if (!m) return null;
      const id = m.header?.get('Nats-Msg-Id');
      const parsed = id ? parseMsgId(id) : null;
      if (!parsed || parsed.source !== source) return null;
      return {
        position: parsed.position,
        index: parsed.index,
        key: JSON.parse(m.header.get('Sluice-Key') || 'null'),
        event: m.json(),
      };
    } catch (err) {
      if (isNoMessageFound(err)) return null;
      lastErr = err;
    }
  }
  throw new NatsUnavailableError(
    `cannot read the last event of source ${source} from stream ${stream}: ${lastErr === undefined ? 'stopped' : describeNatsError(lastErr)}`,
    { cause: lastErr },
  );
}
