// JetStream publisher with a bounded window of publishes in flight and acks settled in order.
//
// Each event is published with a reply subject `<inbox>.<seq>` under one wildcard subscription,
// so thousands can be in flight without a request object per message. `ackedThrough` only moves
// over a contiguous prefix of acknowledged sequence numbers: the dispatcher commits an offset only
// when every event up to it is stored.
//
// On a failure (timeout, no responders while NATS restarts, stream full) the window stops taking
// new events, and every unacknowledged event is published again, one at a time and in order, until
// each is stored. Events that were stored the first time come back as duplicates (their
// Nats-Msg-Id is deterministic), so nothing is stored twice.
//
// Order across a reconnect: nats.js drops what it had not written when the connection broke, and
// what was written may or may not have reached the server. So nothing is sent on a new
// connection while events sent on an older one are unacknowledged; those are resent first, one at
// a time. The connection is told apart by the identity of `nc.info`, which nats.js replaces on
// every (re)connect, and which is checked synchronously before each send.
//
// A failure that resending cannot fix (a PubAck error with a 4xx status, or no stream taking the
// subject) ends the publisher with a PublishError. Frames, replies and the nats.js internals they
// touch are in publisher-wire.ts.
import { createInbox, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { PublishError } from '../core/errors.js';
import type { Publisher, PublishRequest } from '../core/publisher.js';
import type { Logger } from '../core/source-adapter.js';
import {
  connectionEpoch,
  hpubFrame,
  protocolOf,
  rawHeaders,
  readReply,
  replySeq,
  sendFrame,
  streamTakes,
  type ProtocolHandler,
  type ReplyFailure,
} from './publisher-wire.js';

export interface PubAck {
  readonly stream: string;
  readonly seq: number;
  readonly duplicate: boolean;
}

interface Pending {
  readonly seq: number;
  readonly req: PublishRequest;
  /** The whole HPUB frame, built once: a resend writes the same bytes. */
  frame: Uint8Array | null;
  sentAt: number;
  acked: boolean;
  failed: boolean;
  streamSeq: number;
  waiter?: { resolve: () => void; reject: (e: Error) => void } | undefined;
}

interface AckWaiter {
  seq: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

export interface PublisherOptions {
  readonly window: number;
  readonly timeoutMs: number;
  readonly log?: Logger;
  /** Called when a retried event was stored after a later one (seen only when a server lost events mid-window). */
  readonly onReorder?: (subject: string) => void;
  readonly onRetry?: (reason: string) => void;
  /** Called once per event when JetStream first stores it (not for duplicates). */
  readonly onStored?: (req: PublishRequest) => void;
}

export class JetStreamPublisher implements Publisher {
  readonly #nc: NatsConnection;
  readonly #opts: PublisherOptions;
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #pending = new Map<number, Pending>();
  #head = 1; // lowest seq not yet acked
  #nextSeq = 1;
  #recovering = false;
  #closed = false;
  #fatal: Error | null = null;
  #maxAckedStreamSeq = 0;
  /** The connection (its INFO object) the window's events were sent on. */
  #epoch: unknown = undefined;
  #spaceWaiters: (() => void)[] = [];
  #ackWaiters: AckWaiter[] = [];
  readonly #timer: NodeJS.Timeout;
  readonly #proto: ProtocolHandler | null;

  constructor(nc: NatsConnection, opts: PublisherOptions) {
    this.#nc = nc;
    this.#proto = protocolOf(nc);
    this.#opts = opts;
    this.#inbox = createInbox();
    this.#sub = nc.subscribe(`${this.#inbox}.*`, { callback: (err, msg) => this.#onReply(err, msg) });
    this.#timer = setInterval(() => this.#sweep(), Math.max(50, Math.min(1000, opts.timeoutMs / 4)));
    this.#timer.unref();
  }

  /** Every sequence number up to this one is stored in the stream. */
  get ackedThrough(): number {
    return this.#head - 1;
  }

  /** The sequence number the last publish() got. */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  get maxPayload(): number {
    return this.#nc.info?.max_payload ?? 1024 * 1024;
  }

  /**
   * Sends one event and returns its sequence number once it is in flight; waits while the window
   * is full or a retry is under way. Throws if the publisher has failed for good.
   */
  async publish(req: PublishRequest): Promise<number> {
    for (;;) {
      const seq = this.trySend(req);
      if (seq > 0) return seq;
      await new Promise<void>((r) => this.#spaceWaiters.push(r));
    }
  }

  /**
   * Sends at once when the window has room (returns the sequence number), else returns 0 and
   * the caller awaits publish(). Lets a batch go out in one tick, so nats.js writes it to the
   * socket in a few large writes instead of one per event.
   */
  trySend(req: PublishRequest): number {
    this.#throwIfDone();
    if (this.#pending.size >= this.#opts.window || this.#recovering) return 0;
    if (!this.#sameConnection()) {
      this.#startRecovery('reconnected');
      return 0;
    }
    const seq = this.#nextSeq++;
    const p: Pending = {
      seq,
      req,
      frame: null,
      sentAt: Date.now(),
      acked: false,
      failed: false,
      streamSeq: 0,
    };
    this.#pending.set(seq, p);
    this.#send(p);
    return seq;
  }

  /** Resolves when every event up to `seq` (default: all published so far) is stored. */
  async waitAcked(seq = this.lastSeq): Promise<void> {
    this.#throwIfDone();
    if (seq <= this.ackedThrough) return;
    await new Promise<void>((resolve, reject) => this.#ackWaiters.push({ seq, resolve, reject }));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#failAll(new PublishError('publisher closed'));
    this.#sub.unsubscribe();
  }

  /** True while the connection is the one the unacknowledged events were sent on (or none are). */
  #sameConnection(): boolean {
    const info = connectionEpoch(this.#nc);
    if (!info) return false;
    if (info === this.#epoch) return true;
    if (this.#pending.size === 0) {
      this.#epoch = info;
      return true;
    }
    return false;
  }

  #throwIfDone(): void {
    if (this.#fatal) throw this.#fatal;
    if (this.#closed) throw new PublishError('publisher closed');
  }

  #send(p: Pending): void {
    p.sentAt = Date.now();
    p.failed = false;
    try {
      const reply = `${this.#inbox}.${p.seq}`;
      const proto = this.#proto;
      if (proto) {
        p.frame ??= hpubFrame(p.req, reply);
        sendFrame(this.#nc, proto, p.frame);
      } else {
        this.#nc.publish(p.req.subject, p.req.payload, { reply, headers: rawHeaders(p.req) });
      }
    } catch (err) {
      // A closed or draining connection throws here; retried like any other failure. (Payloads
      // over max_payload never get here: the dispatcher sends those to the dead-letter subject.)
      this.#markFailed(p, {
        reason: `cannot publish to ${p.req.subject}: ${(err as Error).message}`,
        permanent: false,
        noResponders: false,
      });
    }
  }

  #onReply(err: Error | null, msg: Msg): void {
    if (err) return;
    const seq = replySeq(msg, this.#inbox.length + 1);
    const p = this.#pending.get(seq);
    if (!p || p.acked) return;
    const r = readReply(msg);
    if ('failure' in r) {
      this.#markFailed(p, r.failure);
      return;
    }
    const ack = r.ack;
    p.acked = true;
    p.streamSeq = ack.seq ?? 0;
    if (!ack.duplicate) {
      if (p.streamSeq < this.#maxAckedStreamSeq) this.#opts.onReorder?.(p.req.subject);
      this.#opts.onStored?.(p.req);
      this.#maxAckedStreamSeq = Math.max(this.#maxAckedStreamSeq, p.streamSeq);
    }
    if (p.waiter) {
      p.waiter.resolve();
      p.waiter = undefined;
    }
    this.#advance();
  }

  #markFailed(p: Pending, failure: ReplyFailure): void {
    p.failed = true;
    if (failure.permanent) {
      const err = this.#permanentError(p, failure.reason);
      p.waiter?.reject(err);
      p.waiter = undefined;
      this.#fail(err);
      return;
    }
    if (p.waiter) {
      p.waiter.reject(new ReplyError(failure));
      p.waiter = undefined;
      return;
    }
    this.#startRecovery(failure.reason);
  }

  #permanentError(p: Pending, reason: string, cause?: unknown): PublishError {
    return new PublishError(`publishing to ${p.req.subject} failed for good: ${reason}`, {
      cause: cause ?? new Error(reason),
    });
  }

  #advance(): void {
    while (true) {
      const p = this.#pending.get(this.#head);
      if (!p || !p.acked) break;
      this.#pending.delete(this.#head);
      this.#head++;
    }
    const through = this.ackedThrough;
    if (this.#ackWaiters.length > 0) {
      const still: AckWaiter[] = [];
      for (const w of this.#ackWaiters) {
        if (w.seq <= through) w.resolve();
        else still.push(w);
      }
      this.#ackWaiters = still;
    }
    this.#wakeSpace();
  }

  #wakeSpace(): void {
    if (this.#recovering || this.#pending.size >= this.#opts.window) return;
    const ws = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of ws) w();
  }

  #sweep(): void {
    if (this.#recovering || this.#closed) return;
    const p = this.#pending.get(this.#head);
    if (p && !p.acked && Date.now() - p.sentAt > this.#opts.timeoutMs) this.#startRecovery('PubAck timeout');
  }

  #startRecovery(reason: string): void {
    if (this.#recovering || this.#closed) return;
    this.#recovering = true;
    this.#opts.onRetry?.(reason);
    this.#opts.log?.warn(
      { reason, inFlight: this.#pending.size },
      'publish failed; resending unacknowledged events in order',
    );
    void this.#recover(reason);
  }

  async #recover(firstReason: string): Promise<void> {
    let attempt = 0;
    let reason = firstReason;
    try {
      // Let replies to what is already on the wire arrive before resending anything.
      await delay(Math.min(this.#opts.timeoutMs, 200));
      const seqs = [...this.#pending.keys()].sort((a, b) => a - b);
      for (const seq of seqs) {
        const p = this.#pending.get(seq);
        if (!p || p.acked) continue;
        while (!p.acked) {
          if (this.#closed || this.#fatal) return;
          try {
            await this.#sendAndWait(p);
          } catch (err) {
            if (err instanceof PublishError) throw err;
            reason = (err as Error).message;
            // No responders is also what a NATS restart or a stream leader election looks like;
            // it is final only when the JetStream API answers that no stream takes the subject.
            if (err instanceof ReplyError && err.failure.noResponders) {
              const takes = await streamTakes(this.#nc, p.req.subject).catch(() => null);
              if (takes === false) throw this.#permanentError(p, 'no stream takes this subject', err);
            }
            attempt++;
            const backoff = Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
            if (attempt === 1 || attempt % 10 === 0)
              this.#opts.log?.warn(
                { reason, attempt, subject: p.req.subject },
                'publish still failing; retrying',
              );
            await delay(backoff);
          }
        }
      }
      if (attempt > 0)
        this.#opts.log?.info({ attempts: attempt, lastReason: reason }, 'publishing recovered');
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#recovering = false;
      this.#wakeSpace();
    }
  }

  async #sendAndWait(p: Pending): Promise<void> {
    // Not while disconnected: nats.js would drop it on reconnect anyway.
    for (let i = 0; !connectionEpoch(this.#nc) && i < 100 && !this.#closed; i++) await delay(50);
    if (!connectionEpoch(this.#nc)) throw new Error('disconnected');
    this.#epoch = connectionEpoch(this.#nc);
    return new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        if (p.waiter) p.waiter = undefined;
        reject(new Error('PubAck timeout'));
      }, this.#opts.timeoutMs);
      p.waiter = {
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      };
      this.#send(p);
    });
  }

  #fail(err: Error): void {
    if (!this.#fatal) this.#fatal = err;
    this.#failAll(err);
  }

  #failAll(err: Error): void {
    for (const w of this.#ackWaiters) w.reject(err);
    this.#ackWaiters = [];
    this.#wakeSpaceAll();
  }

  #wakeSpaceAll(): void {
    const ws = this.#spaceWaiters;
    this.#spaceWaiters = [];
    for (const w of ws) w();
  }
}

/** A failed reply, as the waiter of a resend sees it. */
class ReplyError extends Error {
  constructor(readonly failure: ReplyFailure) {
    super(failure.reason);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
