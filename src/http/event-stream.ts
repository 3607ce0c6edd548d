// The Server-Sent Events response of a change-feed subscription. With hundreds of subscribers per
// resource, what costs is the work per subscriber per event: so the frame of an event seen whole is
// encoded once for all (FeedItem.frame), and each subscriber writes what a batch of the shared
// consumer brought in ONE socket write, straight to the Node response when the service runs on
// @hono/node-server (no web stream and no promise per write in between). Under app.request() (no
// Node response) the same writer feeds a web ReadableStream.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import type { FeedItem } from '../delivery/feed/feed-item.js';
import type { FeedSubscription } from '../delivery/feed/feed-subscription.js';
import { traceFeed } from '../delivery/feed/feed-trace.js';
import type { FeedView } from '../delivery/feed/feed-view.js';
import type { AppEnv } from './env.js';

const encoder = new TextEncoder();
/** Most events written to one event stream at once. */
const batchMax = 256;

const headers = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  'x-accel-buffering': 'no',
};

const closingNotes = {
  overflow: 'closing: this client reads too slowly; reconnect with Last-Event-ID',
  'tail-closed': 'closing: the change stream was interrupted; reconnect with Last-Event-ID',
  'catch-up-failed': 'closing: reading the backlog failed; reconnect with Last-Event-ID',
  unsubscribed: 'closing',
} as const;

function sseFrame(seq: number, type: string, json: string): string {
  return `id: ${seq}\nevent: ${type}\ndata: ${json}\n\n`;
}

/** The event's SSE frame for this caller, or null when the caller may not see it. */
function render(item: FeedItem, view: FeedView): Uint8Array | null {
  const seen = view(item.event);
  if (seen === null) return null;
  if (seen === item.event)
    // Shared by every subscriber that sees the event whole. A data line cannot hold a line break.
    return (item.frame ??= encoder.encode(
      sseFrame(item.seq, seen.type, /[\r\n]/.test(item.payload) ? JSON.stringify(seen) : item.payload),
    ));
  return encoder.encode(sseFrame(item.seq, seen.type, JSON.stringify(seen)));
}

/** The last batch joined from shared frames: the subscribers of one tail batch all write it. */
let joined: { first: FeedItem; last: FeedItem; n: number; bytes: Uint8Array } | undefined;

/** The batch's frames for this caller in one piece, or null when it may see none of them. */
function join(batch: readonly FeedItem[], view: FeedView): Uint8Array | null {
  const frames: Uint8Array[] = [];
  let shared = true;
  for (const item of batch) {
    const frame = render(item, view);
    if (frame === null) shared = false;
    else {
      if (frame !== item.frame) shared = false;
      frames.push(frame);
    }
  }
  if (frames.length <= 1) return frames[0] ?? null;
  if (!shared) return Buffer.concat(frames);
  // Every event whole: the same bytes as the previous subscriber's when it is the same batch.
  const first = batch[0]!;
  const last = batch[batch.length - 1]!;
  if (joined?.first !== first || joined.last !== last || joined.n !== batch.length)
    joined = { first, last, n: batch.length, bytes: Buffer.concat(frames) };
  return joined.bytes;
}

/** Where the bytes of an event stream go. */
interface Sink {
  /** False when the receiver is full: wait for onDrain before writing more. */
  write(chunk: Uint8Array): boolean;
  end(chunk: Uint8Array): void;
  onDrain(fn: () => void): void;
}

/** Writes a subscription's events to a sink as they become ready, with heartbeats while quiet. */
class EventStreamWriter {
  #sink: Sink | undefined;
  #blocked = false;
  #ended = false;
  #quiet = true;
  readonly #beat: NodeJS.Timeout;

  constructor(
    private readonly sub: FeedSubscription,
    private readonly view: FeedView,
    heartbeat: number,
  ) {
    this.#beat = setInterval(() => {
      if (this.#quiet && !this.#blocked && this.#sink && !this.#ended)
        this.#sink.write(encoder.encode(':\n\n'));
      this.#quiet = true;
    }, heartbeat);
    this.#beat.unref();
  }

  /** Starts writing to `sink`: the preamble, then what is queued and whatever comes. */
  start(sink: Sink): void {
    this.#sink = sink;
    // `retry`: how long a browser waits before reconnecting (with Last-Event-ID).
    sink.write(encoder.encode(`retry: 1000\n: sluice change feed after ${this.sub.after}\n\n`));
    this.sub.onReady(() => this.flush());
    this.flush();
  }

  /** Writes everything queued (in one write per batchMax events) unless the receiver is full. */
  flush(): void {
    const sink = this.#sink;
    if (!sink || this.#blocked || this.#ended) return;
    for (;;) {
      const batch = this.sub.queue.takeNow(batchMax);
      if (batch.length === 0) break;
      const chunk = join(batch, this.view);
      if (chunk === null) continue;
      this.#quiet = false;
      const ok = sink.write(chunk);
      traceFeed('write', batch);
      if (!ok) {
        this.#blocked = true;
        sink.onDrain(() => {
          this.#blocked = false;
          this.flush();
        });
        return;
      }
    }
    if (this.sub.state === 'closed') this.#end(sink);
  }

  /** The subscription ended and everything it held is written: the closing note ends the stream. */
  #end(sink: Sink): void {
    this.#ended = true;
    clearInterval(this.#beat);
    sink.end(encoder.encode(`: ${closingNotes[this.sub.closeReason ?? 'unsubscribed']}\n\n`));
  }

  /** The client went away. */
  cancel(): void {
    this.#ended = true;
    clearInterval(this.#beat);
    this.sub.close();
  }
}

/** The Node response under @hono/node-server; undefined under app.request(). */
function nodeResponse(c: Context<AppEnv>): ServerResponse<IncomingMessage> | undefined {
  const env = c.env as { outgoing?: unknown } | undefined;
  return env?.outgoing instanceof Object && 'writeHead' in env.outgoing
    ? (env.outgoing as ServerResponse<IncomingMessage>)
    : undefined;
}

export function eventStream(
  c: Context<AppEnv>,
  sub: FeedSubscription,
  view: FeedView,
  heartbeat: number,
): Response {
  const writer = new EventStreamWriter(sub, view, heartbeat);
  const res = nodeResponse(c);
  if (res) return direct(res, writer);
  let drained: (() => void) | undefined;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      writer.start({
        write(chunk) {
          controller.enqueue(chunk);
          return (controller.desiredSize ?? 0) > 0;
        },
        end(chunk) {
          controller.enqueue(chunk);
          controller.close();
        },
        onDrain(fn) {
          drained = fn;
        },
      });
    },
    pull() {
      const fn = drained;
      drained = undefined;
      fn?.();
    },
    cancel() {
      writer.cancel();
    },
  });
  return new Response(body, { status: 200, headers });
}

/**
 * Answers on the Node response itself. The returned Response tells @hono/node-server the answer is
 * already sent; the headers the middlewares add to it on the way out (rate limits) are copied into
 * the real response, which starts once they are done.
 */
function direct(res: ServerResponse<IncomingMessage>, writer: EventStreamWriter): Response {
  // A clone: a response of the platform's own class (the one @hono/node-server checks for the
  // marker; its lighter Response is answered from a cache that ignores it), with headers of its own.
  const reply = RESPONSE_ALREADY_SENT.clone();
  for (const [k, v] of Object.entries(headers)) reply.headers.set(k, v);
  const marker = new Set(RESPONSE_ALREADY_SENT.headers.keys());
  setImmediate(() => {
    // Something else answered after all (an error on the way out, or a middleware that read
    // c.res before the route ran, making Hono rewrap this response): this stream has no client.
    if (res.headersSent || res.writableEnded || res.destroyed) return writer.cancel();
    const out: Record<string, string> = {};
    for (const [k, v] of reply.headers) if (!marker.has(k)) out[k] = v;
    res.writeHead(200, out);
    res.once('close', () => writer.cancel());
    writer.start({
      write: (chunk) => res.write(chunk),
      end: (chunk) => res.end(chunk),
      onDrain: (fn) => res.once('drain', fn),
    });
  });
  return reply;
}
