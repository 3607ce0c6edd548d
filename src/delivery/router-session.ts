// One session of a router on its durable consumer: raw events in stream order → resource events,
// published pipelined, each raw event acknowledged only once all its resource events are stored.
//
// Strict stream order over a durable pull consumer needs care, because JetStream redelivers an
// unacknowledged message only when its ack_wait expires, after newer ones:
// - at the start, the consumer's info says how many messages the previous holder left
//   unacknowledged (`num_ack_pending`). The session collects that many redeliveries, holding
//   first deliveries (newer messages) aside, and then routes them all in stream sequence order;
// - every delivery bumps the consumer's delivery sequence by one: a jump means a message was lost
//   on its way (a reconnect), so the session stops before routing anything after the hole and a
//   new session starts from the consumer's state;
// - a redelivery of a message the session has already taken is ignored (its original is in
//   flight) or acknowledged again (it was done; the first ack was lost).
import type { Consumer, ConsumerInfo, JsMsg } from '@nats-io/jetstream';
import type { ChangeEvent } from '../core/change-event.js';
import { errorMessage } from '../core/errors.js';
import type { LeaseFence } from '../core/lease.js';
import type { Publisher, PublishRequest } from '../core/publisher.js';
import type { Logger } from '../core/source-adapter.js';
import { unescapeToken } from '../nats/subjects.js';
import { metrics } from '../util/metrics.js';
import { resourceDeadLetterSubject, resourceEventContentType } from './resource-event.js';
import type { ResourceEventMapper, RoutedEvent, SourceRoutes } from './resource-events.js';

export interface SessionDeps {
  readonly consumer: Consumer;
  /** The consumer's state read just before this session, after the previous one ended. */
  readonly info: ConsumerInfo;
  readonly publisher: Publisher;
  readonly routes: SourceRoutes;
  readonly prefix: string;
  readonly fence: LeaseFence;
  readonly ackWaitMs: number;
  /** Messages asked for per pull. */
  readonly batch: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

/** Why a session ended without an error: stopped, or a new one must start from the consumer's state. */
export type SessionEnd = 'stopped' | 'gap' | 'catch-up timeout';

interface InFlight {
  /** The publisher sequence of the raw event's last resource event (or of the one before). */
  readonly pubSeq: number;
  readonly msg: JsMsg;
}

const HEADER_ALLOWANCE = 4096;

export class RouterSession {
  readonly #d: SessionDeps;
  #queue: InFlight[] = [];
  #acking: Promise<void> | null = null;
  #error: Error | null = null;
  #stop: (() => void) | null = null;

  constructor(deps: SessionDeps) {
    this.#d = deps;
  }

  async run(): Promise<SessionEnd> {
    const d = this.#d;
    const floor = d.info.ack_floor.stream_seq;
    let expectDseq = d.info.delivered.consumer_seq + 1;
    let pendingLeft = d.info.num_ack_pending;
    const held = new Map<number, JsMsg>(); // redeliveries and newer messages while catching up
    let high = floor; // highest stream sequence taken
    let end: SessionEnd = 'stopped';

    // Pull requests that expire about when unacknowledged messages are redelivered: the server
    // keeps delivering to a crashed holder's open requests until they expire, and the takeover
    // waits on those deliveries.
    const messages = await d.consumer.consume({
      max_messages: d.batch,
      expires: Math.min(30_000, Math.max(1000, d.ackWaitMs)),
    });
    this.#stop = () => void messages.close();
    const onAbort = () => this.#stop?.();
    d.signal.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | null = null;
    if (pendingLeft > 0) {
      d.log.info(
        { pending: pendingLeft, floor },
        'router: waiting for the events the previous holder left unacknowledged',
      );
      timer = setTimeout(
        () => {
          end = 'catch-up timeout';
          this.#stop?.();
        },
        3 * d.ackWaitMs + 5000,
      );
    }
    try {
      for await (const m of messages) {
        this.#throwIfFailed();
        if (m.info.deliverySequence !== expectDseq) {
          d.log.warn(
            { expected: expectDseq, got: m.info.deliverySequence },
            'router: a delivery went missing; restarting from the consumer state',
          );
          end = 'gap';
          break;
        }
        expectDseq++;
        const seq = m.seq;
        if (seq <= floor) {
          m.ack(); // done before (its ack was lost)
          continue;
        }
        if (pendingLeft > 0) {
          if (!held.has(seq)) {
            held.set(seq, m);
            // What the previous holder left comes back redelivered; newer messages come for the
            // first time. (Not "seq <= delivered.stream_seq": that figure can lag the pending set.)
            if (m.info.deliveryCount > 1) pendingLeft--;
          }
          if (pendingLeft > 0) continue;
          if (timer) clearTimeout(timer);
          for (const s of [...held.keys()].sort((a, b) => a - b)) await this.#take(held.get(s)!);
          high = Math.max(high, ...held.keys());
          held.clear();
          continue;
        }
        if (seq <= high) {
          // A redelivery: of an event in flight (its original will be acknowledged), or of one
          // already done whose acknowledgement was lost (acknowledge again).
          const oldest = this.#queue[0];
          if (!oldest || seq < oldest.msg.seq) m.ack();
          continue;
        }
        await this.#take(m);
        high = seq;
      }
      this.#throwIfFailed();
    } finally {
      if (timer) clearTimeout(timer);
      d.signal.removeEventListener('abort', onAbort);
      await messages.close();
    }
    await this.drain();
    return d.signal.aborted ? 'stopped' : end;
  }

  /** Waits until every raw event taken so far is acknowledged (or the session failed). */
  async drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#error) {
      this.#kick();
      await this.#acking;
    }
    this.#throwIfFailed();
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }

  /** Publishes the raw event's resource events and queues its acknowledgement. */
  async #take(m: JsMsg): Promise<void> {
    const pub = this.#d.publisher;
    for (const req of this.#requests(m)) if (pub.trySend(req) === 0) await pub.publish(req);
    this.#queue.push({ pubSeq: pub.lastSeq, msg: m });
    this.#kick();
  }

  #kick(): void {
    if (this.#acking || this.#queue.length === 0 || this.#error) return;
    this.#acking = this.#ackLoop().finally(() => (this.#acking = null));
  }

  async #ackLoop(): Promise<void> {
    const d = this.#d;
    try {
      while (this.#queue.length > 0) {
        const last = this.#queue[this.#queue.length - 1]!;
        await d.publisher.waitAcked(last.pubSeq);
        // Only the holder of the router's lease moves the consumer on.
        await d.fence.assertHeld();
        // The queue is only appended to, so everything up to `last` is stored: acknowledge in order.
        const n = this.#queue.indexOf(last) + 1;
        for (let i = 0; i < n; i++) this.#queue[i]!.msg.ack();
        this.#queue.splice(0, n);
      }
    } catch (err) {
      this.#error = err instanceof Error ? err : new Error(String(err));
      this.#stop?.();
    }
  }

  /** The publish requests for one raw event: its resource events and dead letters. */
  #requests(m: JsMsg): PublishRequest[] {
    const d = this.#d;
    const table = rawTable(d.prefix, m.subject);
    if (!table) return []; // the source's own dead letters, or a subject of no table
    const mappers = d.routes.for(table.schema, table.table);
    if (mappers.length === 0) return [];
    const rawMsgId = m.headers?.get('Nats-Msg-Id') || `seq:${m.seq}`;
    const rawKeyText = m.headers?.get('Sluice-Key') ?? '';
    let raw: ChangeEvent;
    let rawKey: Record<string, unknown> | null;
    const text = new TextDecoder().decode(m.data);
    try {
      raw = JSON.parse(text) as ChangeEvent;
      const problem = rawEventProblem(raw);
      if (problem) throw new Error(problem);
      rawKey = rawKeyText ? (JSON.parse(rawKeyText) as Record<string, unknown> | null) : null;
    } catch (err) {
      return mappers.map((mp) =>
        this.#deadLetter(mp.resource, `unreadable raw event: ${errorMessage(err)}`, m, rawMsgId, text),
      );
    }
    const out: PublishRequest[] = [];
    for (const mp of mappers) {
      let events: RoutedEvent[];
      try {
        events = mp.map(raw, rawMsgId, rawKey);
      } catch (err) {
        out.push(this.#deadLetter(mp.resource, errorMessage(err), m, rawMsgId, raw));
        continue;
      }
      for (const e of events) out.push(this.#eventRequest(mp, e, m, rawMsgId, raw));
    }
    return out;
  }

  #eventRequest(
    mp: ResourceEventMapper,
    e: RoutedEvent,
    m: JsMsg,
    rawMsgId: string,
    raw: ChangeEvent,
  ): PublishRequest {
    const payload = JSON.stringify(e.event);
    const max = this.#d.publisher.maxPayload;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when that bound is too high.
    if (payload.length * 3 + HEADER_ALLOWANCE > max) {
      const bytes = Buffer.byteLength(payload);
      if (bytes + HEADER_ALLOWANCE > max)
        return this.#deadLetter(
          mp.resource,
          `resource event of ${bytes} bytes exceeds max_payload`,
          m,
          rawMsgId,
          raw,
          e.event.id,
        );
    }
    return {
      subject: e.subject,
      payload,
      msgId: e.event.id,
      headers: `Sluice-Key: ${JSON.stringify(e.key)}\r\nContent-Type: ${resourceEventContentType}\r\n`,
      committedAtMs: raw.source.ts_ms,
    };
  }

  #deadLetter(
    resource: string,
    reason: string,
    m: JsMsg,
    rawMsgId: string,
    event: unknown,
    id = `${rawMsgId}/${resource}/dlq`,
  ): PublishRequest {
    this.#d.log.error(
      { resource, rawSubject: m.subject, rawSeq: m.seq, reason },
      'router: raw event sent to the dead-letter subject',
    );
    metrics.resourceDeadLettered.inc({ resource });
    const subject = resourceDeadLetterSubject(this.#d.prefix, resource);
    return {
      subject,
      msgId: id,
      payload: JSON.stringify({ reason, resource, rawSubject: m.subject, rawSeq: m.seq, rawMsgId, event }),
      headers: `Sluice-Key: ${m.headers?.get('Sluice-Key') || 'null'}\r\nContent-Type: application/json\r\n`,
    };
  }
}

/** `<prefix>.<source>.<schema>.<table>.<op>` → schema and table; null for other subjects. */
export function rawTable(prefix: string, subject: string): { schema: string; table: string } | null {
  const t = subject.split('.');
  if (t.length !== 5 || t[0] !== prefix || t[4]!.length !== 1) return null;
  return { schema: unescapeToken(t[2]!), table: unescapeToken(t[3]!) };
}

const OPS = new Set(['r', 'c', 'u', 'd', 't']);

/** What makes a parsed body unusable as a change event, or null. */
function rawEventProblem(e: unknown): string | null {
  if (typeof e !== 'object' || e === null) return 'not a JSON object';
  const o = e as Partial<ChangeEvent>;
  if (typeof o.op !== 'string' || !OPS.has(o.op)) return `bad op ${JSON.stringify(o.op)}`;
  if (typeof o.source !== 'object' || o.source === null) return 'no source block';
  if (typeof o.source.name !== 'string' || typeof o.source.ts_ms !== 'number')
    return 'source.name or source.ts_ms missing';
  for (const k of ['before', 'after'] as const)
    if (o[k] !== null && (typeof o[k] !== 'object' || Array.isArray(o[k])))
      return `${k} is not an object or null`;
  return null;
}
