// The subscriber's state machine without NATS: catch-up then live with no gap or duplicate at the
// seam, a bounded buffer that closes a slow subscriber, and what each state does with each input.
import { describe, expect, it } from 'vitest';
import type { FeedItem } from '../../../src/delivery/feed/feed-item.js';
import { FeedSubscription, type RangeReader } from '../../../src/delivery/feed/feed-subscription.js';
import { apiResourceEvent } from '../../support/resource-events.js';

const item = (seq: number): FeedItem => {
  const event = apiResourceEvent('things', ['id'], 'created', { after: { id: seq } });
  return { seq, event, payload: JSON.stringify(event) };
};

/** A reader over seqs in memory that waits for `gate` before yielding anything. */
function reader(seqs: number[], gate: Promise<void> = Promise.resolve()): RangeReader {
  return async function* (after, until) {
    await gate;
    for (const s of seqs) if (s > after && s <= until) yield item(s);
  };
}

async function drain(sub: FeedSubscription, n: number): Promise<number[]> {
  const out: number[] = [];
  for await (const i of sub.queue) {
    out.push(i.seq);
    if (out.length === n) break;
  }
  return out;
}

describe('FeedSubscription', () => {
  it('live: queues what comes after its position, once', async () => {
    const sub = new FeedSubscription(5, 10, () => {});
    sub.catchUp(reader([]), 5);
    for (const s of [4, 5, 6, 6, 7]) sub.onItem(item(s));
    expect(await drain(sub, 2)).toEqual([6, 7]);
  });

  it('catching up: the gap first, then the tail events held meanwhile, without duplicate', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const sub = new FeedSubscription(2, 10, () => {});
    // Joined the tail at 6; the stream held 3..6 (and the tail delivers 6.. again on a race).
    sub.catchUp(reader([3, 4, 5, 6], gate), 6);
    expect(sub.state).toBe('catching-up');
    for (const s of [7, 8]) sub.onItem(item(s));
    open();
    await sub.caughtUp;
    expect(sub.state).toBe('live');
    sub.onItem(item(8));
    sub.onItem(item(9));
    expect(await drain(sub, 7)).toEqual([3, 4, 5, 6, 7, 8, 9]);
  });

  it('closes a subscriber whose buffer is full; what it holds can still be read', async () => {
    const closed: string[] = [];
    const sub = new FeedSubscription(0, 3, (s) => closed.push(s.closeReason!));
    sub.catchUp(reader([]), 0);
    for (const s of [1, 2, 3, 4, 5]) sub.onItem(item(s));
    expect([sub.state, sub.closeReason, closed]).toEqual(['closed', 'overflow', ['overflow']]);
    const got: number[] = [];
    for await (const i of sub.queue) got.push(i.seq);
    expect(got).toEqual([1, 2, 3]);
  });

  it('bounds the backlog held during a catch-up too', async () => {
    const sub = new FeedSubscription(0, 2, () => {});
    sub.catchUp(reader([1], new Promise(() => {})), 1);
    for (const s of [2, 3, 4]) sub.onItem(item(s));
    expect(sub.closeReason).toBe('overflow');
  });

  // state × input: what every pair does.
  it.each([
    ['live', 'item', 'live'],
    ['live', 'tail closed', 'closed'],
    ['live', 'close', 'closed'],
    ['catching-up', 'item', 'catching-up'],
    ['catching-up', 'tail closed', 'closed'],
    ['catching-up', 'close', 'closed'],
    ['closed', 'item', 'closed'],
    ['closed', 'tail closed', 'closed'],
    ['closed', 'close', 'closed'],
  ] as const)('%s + %s → %s', (from, input, to) => {
    const sub = new FeedSubscription(0, 10, () => {});
    if (from === 'catching-up') sub.catchUp(reader([1], new Promise(() => {})), 1);
    if (from === 'closed') sub.close();
    expect(sub.state).toBe(from);
    if (input === 'item') sub.onItem(item(2));
    else if (input === 'tail closed') sub.onTailClosed();
    else sub.close();
    expect(sub.state).toBe(to);
  });

  it('a failing catch-up closes the subscription (the client resumes)', async () => {
    const sub = new FeedSubscription(0, 10, () => {});
    // eslint-disable-next-line require-yield
    sub.catchUp(async function* () {
      throw new Error('stream gone');
    }, 5);
    await sub.caughtUp;
    expect(sub.closeReason).toBe('catch-up-failed');
  });
});
