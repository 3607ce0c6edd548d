// publish → ack → commit offset → acknowledge source, in that order and never another
// (README "Guarantees"). Publishing is pipelined by the publisher's window; offsets are
// committed by a separate loop once every event up to them is stored, at most every
// `commitInterval`, so single-row transactions do not cost one KV write each.
import type { SourceChange } from '../core/change-event.js';
import type { LeaseFence } from '../core/lease.js';
import type { OffsetStore } from '../core/offset-store.js';
import type { Publisher, PublishRequest } from '../core/publisher.js';
import type { AnySourceAdapter, ChangeBatch, Logger } from '../core/source-adapter.js';
import { deadLetterSubject, eventSubject, msgId } from '../nats/subjects.js';
import { metrics } from '../util/metrics.js';
import type { OutboxRouter } from './outbox-router.js';

export interface DispatcherDeps {
  readonly adapter: AnySourceAdapter;
  readonly publisher: Publisher;
  readonly store: OffsetStore;
  /** Commits and acknowledgements happen only while this process holds the source's lease. */
  readonly fence?: LeaseFence;
  /**
   * Called once when committing fails, so the caller can end the source's batches: a failure
   * found while the source is idle would otherwise wait for its next batch to surface.
   */
  readonly onFailed?: (err: Error) => void;
  /** Keeps the body of an event too large to publish, for `sluice dlq replay` (see DeadLetterBodies). */
  readonly keepDeadLetter?: (msgId: string, body: string) => Promise<{ bucket: string; name: string }>;
  /** Routes the rows of outbox tables as application events (absent: no outbox configured). */
  readonly outbox?: OutboxRouter | undefined;
  readonly prefix: string;
  readonly commitIntervalMs: number;
  readonly log: Logger;
}

interface PendingCommit {
  readonly seq: number;
  readonly offset: unknown;
}

const HEADER_ALLOWANCE = 4096;

export class Dispatcher {
  readonly #d: DispatcherDeps;
  #pending: PendingCommit[] = [];
  #committing: Promise<void> | null = null;
  #lastCommitAt = 0;
  #error: Error | null = null;
  #stopped = false;
  #wake: (() => void) | null = null;
  #committedSeq: number;
  readonly #subjects = new Map<string, string>();

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
    this.#committedSeq = deps.publisher.ackedThrough;
  }

  /** Publishes every batch; returns the last offset seen (committed before returning). */
  async run(batches: AsyncIterable<ChangeBatch<unknown>>): Promise<unknown> {
    let last: unknown = null;
    try {
      for await (const batch of batches) {
        this.#throwIfFailed();
        const publisher = this.#d.publisher;
        let reads = 0;
        for (const c of batch.changes) {
          if ((c.encoded ? c.encoded.op : c.event.op) === 'r') reads++;
          // Synchronous while the window has room, so a batch leaves in one tick.
          const route = this.#d.outbox?.route(c);
          let req: PublishRequest | null;
          if (route === undefined)
            req = this.#request(c) ?? (await this.#deadLetter(c, 'max_payload exceeded'));
          else if (route.kind === 'skip') continue;
          else if (route.kind === 'invalid') req = await this.#deadLetter(c, route.reason);
          else
            req = this.#fits(route.request.payload)
              ? route.request
              : await this.#deadLetter(c, 'max_payload exceeded');
          if (publisher.trySend(req) === 0) await publisher.publish(req);
        }
        if (reads > 0) metrics.snapshotRows.inc({ source: this.#d.adapter.name }, reads);
        if (batch.offset !== null) {
          last = batch.offset;
          this.#pending.push({ seq: this.#d.publisher.lastSeq, offset: batch.offset });
          if (batch.sync) await this.flush();
          else this.#kick();
        }
      }
      await this.flush();
      return last;
    } catch (err) {
      // A failed commit ended the batches (onFailed): that failure is the one to report, not how
      // the source reacted to being stopped.
      throw this.#error ?? err;
    } finally {
      this.#stopped = true;
      this.#wake?.();
    }
  }

  /** Waits until every offset handed over so far is committed and acknowledged. */
  async flush(): Promise<void> {
    while (this.#pending.length > 0 || this.#committing) {
      this.#throwIfFailed();
      this.#kick(true);
      await this.#committing;
    }
    this.#throwIfFailed();
  }

  /** Subjects are escaped once per table and op, not once per event. */
  #subject(schema: string, table: string, op: SourceChange['event']['op']): string {
    const k = `${schema}\u0000${table}\u0000${op}`;
    let s = this.#subjects.get(k);
    if (s === undefined) {
      s = eventSubject(this.#d.prefix, this.#d.adapter.name, schema, table, op);
      this.#subjects.set(k, s);
    }
    return s;
  }

  /** The publish request of `c`; null when it is too large for the server (see #deadLetter). */
  #request(c: SourceChange): PublishRequest | null {
    const d = this.#d;
    // An adapter that wrote the JSON itself (EncodedChange) has no event object to read or stringify.
    const e = c.encoded;
    const payload = e ? e.json : JSON.stringify(c.event);
    if (!this.#fits(payload)) return null;
    const op = e ? e.op : c.event.op;
    const subject = e
      ? this.#subject(e.schema, e.table, op)
      : this.#subject(c.event.source.schema, c.event.source.table, op);
    const snapshot = e ? e.snapshot : c.event.source.snapshot;
    return {
      subject,
      payload,
      msgId: msgId(d.adapter.name, c.position, c.index),
      headers: eventHeaders(c),
      committedAtMs: snapshot === 'false' ? (e ? e.tsMs : c.event.source.ts_ms) : undefined,
    };
  }

  /** True when `payload` fits the server's max_payload with room for the headers. */
  #fits(payload: string | Uint8Array): boolean {
    const max = this.#d.publisher.maxPayload;
    if (typeof payload !== 'string') return payload.byteLength + HEADER_ALLOWANCE <= max;
    // UTF-8 takes at most 3 bytes per UTF-16 unit: count bytes only when that bound is too high.
    return (
      payload.length * 3 + HEADER_ALLOWANCE <= max || Buffer.byteLength(payload) + HEADER_ALLOWANCE <= max
    );
  }

  /**
   * A poison event: too large for the server, or an outbox row that is no event. Its body is kept aside (keepDeadLetter) and a small
   * record goes to the dead-letter subject, in order, instead of stopping the pipeline. The record's
   * own Nats-Msg-Id is the event's plus `/dlq`, so `sluice dlq replay` can later publish the event
   * under its original id without the stream's duplicate window taking it for the record.
   */
  async #deadLetter(c: SourceChange, reason: string): Promise<PublishRequest> {
    const d = this.#d;
    const src = c.event.source;
    const id = msgId(d.adapter.name, c.position, c.index);
    const payload = JSON.stringify(c.event);
    const subject = this.#subject(src.schema, src.table, c.event.op);
    const bytes = Buffer.byteLength(payload);
    const max = d.publisher.maxPayload;
    d.log.error({ subject, msgId: id, bytes, max, reason }, 'event sent to the dead-letter subject');
    metrics.deadLettered.inc({ source: d.adapter.name });
    let body: { bucket: string; name: string } | null = null;
    let bodyError: string | undefined;
    try {
      body = d.keepDeadLetter ? await d.keepDeadLetter(id, payload) : null;
    } catch (err) {
      // Recorded without its body rather than stopping the source on one event.
      bodyError = err instanceof Error ? err.message : String(err);
      d.log.error({ msgId: id, err: bodyError }, 'cannot keep the body of a dead letter');
    }
    return {
      subject: deadLetterSubject(d.prefix, d.adapter.name),
      payload: JSON.stringify({
        reason,
        bytes,
        maxPayload: max,
        subject,
        msgId: id,
        key: c.key,
        source: src,
        op: c.event.op,
        body,
        ...(bodyError !== undefined ? { bodyError } : {}),
      }),
      msgId: `${id}/dlq`,
      headers: eventHeaders(c),
      committedAtMs: undefined,
    };
  }

  #throwIfFailed(): void {
    if (this.#error) throw this.#error;
  }

  #kick(now = false): void {
    if (this.#committing || this.#pending.length === 0 || this.#error) return;
    this.#committing = this.#commitLoop(now).finally(() => {
      this.#committing = null;
    });
  }

  async #commitLoop(now: boolean): Promise<void> {
    const d = this.#d;
    try {
      while (this.#pending.length > 0 && !this.#error) {
        const wait = now ? 0 : this.#lastCommitAt + d.commitIntervalMs - Date.now();
        if (wait > 0 && !this.#stopped)
          await new Promise<void>((r) => {
            this.#wake = r;
            setTimeout(r, wait);
          });
        const target = this.#pending[this.#pending.length - 1]!;
        await d.publisher.waitAcked(target.seq);
        const serialized = d.adapter.offsets.serialize(target.offset);
        await d.fence?.assertHeld();
        await d.store.commit(d.adapter.name, serialized);
        this.#lastCommitAt = Date.now();
        metrics.offsetCommits.inc({ source: d.adapter.name });
        metrics.eventsPublished.inc({ source: d.adapter.name }, Math.max(0, target.seq - this.#committedSeq));
        this.#committedSeq = Math.max(this.#committedSeq, target.seq);
        // Batches are only appended, so everything up to `target` is covered by this commit.
        this.#pending.splice(0, this.#pending.indexOf(target) + 1);
        // Another holder may have loaded the committed offset already: a process that lost the
        // lease must not move the source past it (the slot would skip what the new holder reads).
        if (!d.fence || (await d.fence.confirmHeld())) await d.adapter.acknowledge(target.offset);
      }
    } catch (err) {
      this.#error = err instanceof Error ? err : new Error(String(err));
      d.onFailed?.(this.#error);
    }
  }
}

/** An event's headers besides Nats-Msg-Id: its key, its content type and, for a sink's write, its origin. */
export function eventHeaders(c: Pick<SourceChange, 'key' | 'event' | 'encoded'>): string {
  // An EncodedChange carries its key JSON and origin: reading c.key or c.event would parse them back.
  const e = c.encoded;
  const keyJson = e ? e.keyJson : JSON.stringify(c.key);
  const origin = e ? e.origin : c.event.origin;
  return origin === undefined
    ? `Sluice-Key: ${keyJson}\r\nContent-Type: application/json\r\n`
    : `Sluice-Key: ${keyJson}\r\nContent-Type: application/json\r\nSluice-Origin: ${origin}\r\n`;
}
