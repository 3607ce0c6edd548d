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
import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';
import { PublishError } from '../core/errors.js';
import type { Logger } from '../core/source-adapter.js';

export interface PublishRequest {
  readonly subject: string;
  /** The message body: a string is sent as UTF-8. */
  readonly payload: string | Uint8Array;
  readonly msgId: string;
  /** Headers besides Nats-Msg-Id, already rendered: `Name: value\r\n` each. */
  readonly headers?: string;
  /** When the change was committed at the source (ms), for the commit→PubAck histogram. */
  readonly committedAtMs?: number | undefined;
}

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

export class JetStreamPublisher {
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
    const info = this.#nc.info;
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
        // The frame goes to nats.js's outbound buffer as one piece, after the checks
        // NatsConnection.publish() would make.
        if (this.#nc.isClosed()) throw new Error('connection closed');
        if (proto.noMorePublishing) throw new Error('connection draining');
        p.frame ??= hpubFrame(p.req, reply);
        proto.outMsgs++;
        proto.outBytes += p.frame.length;
        proto.sendCommand(p.frame);
      } else {
        this.#nc.publish(p.req.subject, p.req.payload, { reply, headers: rawHeaders(p.req) });
      }
    } catch (err) {
      // A closed or draining connection throws here; retried like any other failure. (Payloads
      // over max_payload never get here: the dispatcher sends those to the dead-letter subject.)
      this.#markFailed(p, `cannot publish to ${p.req.subject}: ${(err as Error).message}`);
    }
  }

  #onReply(err: Error | null, msg: Msg): void {
    if (err) return;
    const seq = replySeq(msg, this.#inbox.length + 1);
    const p = this.#pending.get(seq);
    if (!p || p.acked) return;
    const status = msg.headers?.code ?? 0;
    if (status >= 300 || msg.data.length === 0) {
      this.#markFailed(p, status === 503 ? 'no responders (stream unavailable)' : `status ${status}`);
      return;
    }
    const ack = parsePubAck(msg.data);
    if (ack === null) {
      this.#markFailed(p, 'unreadable PubAck');
      return;
    }
    if (ack.error) {
      this.#markFailed(
        p,
        `${ack.error.description ?? 'error'} (${ack.error.err_code ?? ack.error.code ?? '?'})`,
      );
      return;
    }
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

  #markFailed(p: Pending, reason: string): void {
    p.failed = true;
    if (p.waiter) {
      p.waiter.reject(new Error(reason));
      p.waiter = undefined;
      return;
    }
    this.#startRecovery(reason);
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
          if (this.#closed) return;
          try {
            await this.#sendAndWait(p);
          } catch (err) {
            reason = (err as Error).message;
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
    for (let i = 0; !this.#nc.info && i < 100 && !this.#closed; i++) await delay(50);
    if (!this.#nc.info) throw new Error('disconnected');
    this.#epoch = this.#nc.info;
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

/**
 * The part of nats.js's ProtocolHandler (NatsConnectionImpl.protocol, not in its typings) that
 * NatsConnection.publish() ends in. Writing a prebuilt frame there saves, per event, the encoding
 * of the protocol line, a header object and three buffer pieces — a visible share of the hot path.
 * Checked at construction; without it (another transport), publish() is used.
 */
interface ProtocolHandler {
  noMorePublishing: boolean;
  outMsgs: number;
  outBytes: number;
  sendCommand(cmd: Uint8Array): void;
}

function protocolOf(nc: NatsConnection): ProtocolHandler | null {
  const proto = (nc as unknown as { protocol?: Partial<ProtocolHandler> }).protocol;
  return proto &&
    typeof proto.sendCommand === 'function' &&
    typeof proto.noMorePublishing === 'boolean' &&
    typeof proto.outMsgs === 'number'
    ? (proto as ProtocolHandler)
    : null;
}

function headerBlock(req: PublishRequest): string {
  return `NATS/1.0\r\nNats-Msg-Id: ${req.msgId}\r\n${req.headers ?? ''}\r\n`;
}

/** `HPUB <subject> <reply> <header bytes> <total bytes>\r\n<headers><payload>\r\n`, UTF-8. */
export function hpubFrame(req: PublishRequest, reply: string): Uint8Array {
  const head = headerBlock(req);
  const hlen = Buffer.byteLength(head);
  const plen = typeof req.payload === 'string' ? Buffer.byteLength(req.payload) : req.payload.length;
  const line = `HPUB ${req.subject} ${reply} ${hlen} ${hlen + plen}\r\n`;
  const llen = Buffer.byteLength(line);
  // Written piece by piece into one buffer (pooled when small): no flattened copy of the payload.
  const frame = Buffer.allocUnsafe(llen + hlen + plen + 2);
  frame.write(line, 0);
  frame.write(head, llen);
  if (typeof req.payload === 'string') frame.write(req.payload, llen + hlen);
  else frame.set(req.payload, llen + hlen);
  frame[frame.length - 2] = 13;
  frame[frame.length - 1] = 10;
  return frame;
}

/** The same header block as a MsgHdrs for NatsConnection.publish(): nats.js only calls encode(). */
function rawHeaders(req: PublishRequest): MsgHdrs {
  const bytes = Buffer.from(headerBlock(req));
  return { encode: () => bytes } as unknown as MsgHdrs;
}

/**
 * The sequence number at the end of a reply subject `<inbox>.<seq>`, read from nats.js's raw
 * subject bytes when they are there (MsgImpl._msg.subject, saving a UTF-8 decode per event).
 */
function replySeq(msg: Msg, start: number): number {
  const raw = (msg as unknown as { _msg?: { subject?: unknown } })._msg?.subject;
  if (!(raw instanceof Uint8Array)) return Number(msg.subject.slice(start));
  let seq = 0;
  for (let i = start; i < raw.length; i++) {
    const c = raw[i]!;
    if (c < 48 || c > 57) return NaN;
    seq = seq * 10 + (c - 48);
  }
  return raw.length > start ? seq : NaN;
}

interface PubAckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; err_code?: number; description?: string };
}

const ACK_PREFIX = [...Buffer.from('{"stream":')];
const SEQ_FIELD = [...Buffer.from('"seq":')];
const DUPLICATE_FIELD = [...Buffer.from('"duplicate":')];
const ERROR_FIELD = [...Buffer.from('"error"')];

/** Index just past the first occurrence of `what` in `data` from `from`, or -1. */
function after(data: Uint8Array, what: readonly number[], from: number): number {
  const last = data.length - what.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < what.length; j++) if (data[i + j] !== what[j]) continue outer;
    return i + what.length;
  }
  return -1;
}

/**
 * Reads a PubAck. The common shape, `{"stream":"S","seq":N[,"duplicate":true]...}`, is read from
 * the bytes with plain loops (no Buffer views, decoding or JSON.parse: one per event adds up);
 * anything else is parsed as JSON. Returns null when the body is not JSON.
 */
export function parsePubAck(data: Uint8Array): PubAckBody | null {
  if (
    data.length < 128 &&
    after(data, ACK_PREFIX, 0) === ACK_PREFIX.length &&
    after(data, ERROR_FIELD, 0) < 0
  ) {
    const at = after(data, SEQ_FIELD, ACK_PREFIX.length);
    if (at > 0) {
      let seq = 0;
      let i = at;
      for (; i < data.length; i++) {
        const c = data[i]!;
        if (c < 48 || c > 57) break;
        seq = seq * 10 + (c - 48);
      }
      const end = data[i];
      if (i > at && (end === 44 || end === 125)) {
        const dup = after(data, DUPLICATE_FIELD, ACK_PREFIX.length);
        return { seq, duplicate: dup > 0 && data[dup] === 116 /* t */ };
      }
    }
  }
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  try {
    return JSON.parse(buf.toString('utf8')) as PubAckBody;
  } catch {
    return null;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
