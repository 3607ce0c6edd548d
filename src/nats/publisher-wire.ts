// The publisher's wire codec: HPUB frames, reply subjects, PubAck bodies and the JetStream error
// codes they carry, and every reach into nats.js internals the publisher makes. Kept apart from
// the window/retry machine in publisher.ts so that a nats.js upgrade that changes one of these
// shapes shows up here, in test/integration/publisher-wire.test.ts, and nowhere else.
import { jetstreamManager } from '@nats-io/jetstream';
import type { Msg, MsgHdrs, NatsConnection } from '@nats-io/transport-node';
import { isPermanentPublishError } from './jetstream-errors.js';
import type { PublishRequest } from '../core/publisher.js';

/**
 * The part of nats.js's ProtocolHandler (NatsConnectionImpl.protocol, not in its typings) that
 * NatsConnection.publish() ends in. Writing a prebuilt frame there saves, per event, the encoding
 * of the protocol line, a header object and three buffer pieces — a visible share of the hot path.
 * Checked at construction; without it (another transport), publish() is used.
 */
export interface ProtocolHandler {
  noMorePublishing: boolean;
  outMsgs: number;
  outBytes: number;
  sendCommand(cmd: Uint8Array): void;
}

export function protocolOf(nc: NatsConnection): ProtocolHandler | null {
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
export function rawHeaders(req: PublishRequest): MsgHdrs {
  const bytes = Buffer.from(headerBlock(req));
  return { encode: () => bytes } as unknown as MsgHdrs;
}

/**
 * The sequence number at the end of a reply subject `<inbox>.<seq>`, read from nats.js's raw
 * subject bytes when they are there (MsgImpl._msg.subject, saving a UTF-8 decode per event).
 */
export function replySeq(msg: Msg, start: number): number {
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

export interface PubAckBody {
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

/**
 * Writes a prebuilt frame to nats.js's outbound buffer, after the checks NatsConnection.publish()
 * would make, and counts it in the connection's statistics as publish() would.
 */
export function sendFrame(nc: NatsConnection, proto: ProtocolHandler, frame: Uint8Array): void {
  if (nc.isClosed()) throw new Error('connection closed');
  if (proto.noMorePublishing) throw new Error('connection draining');
  proto.outMsgs++;
  proto.outBytes += frame.length;
  proto.sendCommand(frame);
}

/**
 * The identity of the current connection: nats.js replaces `nc.info` (the server's INFO) on every
 * (re)connect and clears it while disconnected, so comparing it by identity tells connections apart.
 */
export function connectionEpoch(nc: NatsConnection): object | undefined {
  return nc.info;
}

/** What a reply to a publish says went wrong, or null when it is a PubAck that stored the event. */
export interface ReplyFailure {
  readonly reason: string;
  /** Resending the same event will fail the same way. */
  readonly permanent: boolean;
  /** A 503 status without a body: nothing took the request (the stream's subjects, or JetStream down). */
  readonly noResponders: boolean;
}

/** Reads a reply: a status message (no body) or a PubAck, which may carry a JetStream API error. */
export function readReply(msg: Msg): { ack: PubAckBody } | { failure: ReplyFailure } {
  const status = msg.headers?.code ?? 0;
  if (status >= 300 || msg.data.length === 0) {
    const noResponders = status === 503;
    return {
      failure: {
        reason: noResponders ? 'no responders (stream unavailable)' : `status ${status}`,
        permanent: false,
        noResponders,
      },
    };
  }
  const ack = parsePubAck(msg.data);
  if (ack === null)
    return { failure: { reason: 'unreadable PubAck', permanent: false, noResponders: false } };
  if (ack.error)
    return {
      failure: {
        reason: `${ack.error.description ?? 'error'} (${ack.error.err_code ?? ack.error.code ?? '?'})`,
        permanent: isPermanentPublishError(ack.error),
        noResponders: false,
      },
    };
  return { ack };
}

/**
 * Whether any stream takes `subject`, asked of the JetStream API (STREAM.NAMES with a subject
 * filter). Throws when the API does not answer: then nobody knows, and the publish is retried.
 */
export async function streamTakes(nc: NatsConnection, subject: string): Promise<boolean> {
  const jsm = await jetstreamManager(nc, { checkAPI: false });
  const names = await jsm.streams.names(subject).next();
  return names.length > 0;
}
