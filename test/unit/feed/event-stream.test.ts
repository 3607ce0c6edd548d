// The SSE writer without a socket (the web-stream sink app.request() gets): a tail batch goes out
// in one write per subscriber, subscribers that see events whole share the joined bytes, a view
// that cuts fields gets its own frames, and a closed subscription ends the stream with its note.
import type { Context } from 'hono';
import { describe, expect, it } from 'vitest';
import type { FeedItem } from '../../../src/delivery/feed/feed-item.js';
import { FeedSubscription } from '../../../src/delivery/feed/feed-subscription.js';
import type { FeedView } from '../../../src/delivery/feed/feed-view.js';
import type { AppEnv } from '../../../src/http/env.js';
import { eventStream } from '../../../src/http/event-stream.js';
import { apiResourceEvent } from '../../support/resource-events.js';

const item = (seq: number): FeedItem => {
  const event = apiResourceEvent('things', ['id'], 'created', { after: { id: seq, secret: `s${seq}` } });
  return { seq, event, payload: JSON.stringify(event) };
};

const noSocket = { env: undefined } as unknown as Context<AppEnv>;
const whole: FeedView = (e) => e;
const noSecret: FeedView = (e) => ({
  ...e,
  data: { ...e.data, after: { id: (e.data.after as { id: number }).id } },
});

function open(view: FeedView) {
  const sub = new FeedSubscription(0, 100, () => {});
  sub.catchUp(async function* () {}, 0);
  const reader = eventStream(noSocket, sub, view, 60_000).body!.getReader();
  return { sub, reader };
}

const text = (chunk: Uint8Array | undefined) => new TextDecoder().decode(chunk);

describe('eventStream', () => {
  it('writes a tail batch in one chunk, shared by the subscribers that see it whole', async () => {
    const a = open(whole);
    const b = open(whole);
    const c = open(noSecret);
    for (const s of [a, b, c]) expect(text((await s.reader.read()).value)).toMatch(/^retry: 1000\n/);
    const batch = [1, 2, 3].map(item);
    for (const s of [a, b, c]) {
      for (const i of batch) s.sub.onItem(i);
      s.sub.onBatchEnd();
    }
    const [ca, cb, cc] = await Promise.all([a, b, c].map(async (s) => (await s.reader.read()).value));
    expect(ca).toBe(cb); // the same bytes, joined once
    expect([...text(ca).matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(['1', '2', '3']);
    expect(text(ca)).toContain('"secret":"s2"');
    expect([...text(cc).matchAll(/^id: (\d+)$/gm)].map((m) => m[1])).toEqual(['1', '2', '3']);
    expect(text(cc)).not.toContain('secret');
  });

  it('ends the stream after what is queued, with the reason as a comment', async () => {
    const s = open(whole);
    await s.reader.read();
    s.sub.onItem(item(1));
    s.sub.close('overflow');
    let all = '';
    for (;;) {
      const r = await s.reader.read();
      if (r.done) break;
      all += text(r.value);
    }
    expect(all).toMatch(/^id: 1\n[\s\S]*: closing: this client reads too slowly/);
  });
});
