// A Server-Sent Events client for tests: fetch + eventsource-parser, with the events, comments and
// the way the stream ended kept for assertions. Not a browser EventSource: it never reconnects on
// its own (tests reconnect with Last-Event-ID themselves).
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { waitFor } from './ports.js';

export interface SseStream {
  readonly status: number;
  readonly headers: Headers;
  readonly events: EventSourceMessage[];
  readonly comments: string[];
  /** Resolves when the server ends the stream or close() was called. */
  readonly ended: Promise<void>;
  readonly lastEventId: string | undefined;
  /** Waits (polling) until at least `n` events arrived. */
  waitForEvents(n: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  close(): void;
}

export async function openSse(
  url: string,
  opts: { headers?: Record<string, string>; lastEventId?: string } = {},
): Promise<SseStream> {
  const abort = new AbortController();
  const res = await fetch(url, {
    headers: {
      accept: 'text/event-stream',
      ...opts.headers,
      ...(opts.lastEventId !== undefined ? { 'last-event-id': opts.lastEventId } : {}),
    },
    signal: abort.signal,
  });
  const events: EventSourceMessage[] = [];
  const comments: string[] = [];
  let lastEventId: string | undefined;
  const parser = createParser({
    onEvent: (e) => {
      events.push(e);
      if (e.id !== undefined) lastEventId = e.id;
    },
    onComment: (c) => comments.push(c),
  });
  const ended = (async () => {
    if (!res.body) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
    } catch {
      // aborted by close()
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    events,
    comments,
    ended,
    get lastEventId() {
      return lastEventId;
    },
    waitForEvents: (n, timeoutMs = 20_000) =>
      waitFor(
        async () => (events.length >= n ? events : null),
        `${n} SSE events (have ${events.length})`,
        timeoutMs,
        10,
      ),
    close: () => abort.abort(),
  };
}
