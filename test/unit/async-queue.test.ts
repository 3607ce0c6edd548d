import { describe, expect, test } from 'vitest';
import { AsyncQueue } from '../../src/util/async-queue.js';

describe('AsyncQueue', () => {
  test('delivers in order and makes producers wait while full', async () => {
    const q = new AsyncQueue<number>(2);
    let pushed = 0;
    const producer = (async () => {
      for (let i = 0; i < 10; i++) {
        await q.push(i);
        pushed++;
      }
      q.end();
    })();
    await new Promise((r) => setTimeout(r, 10));
    expect(pushed).toBe(2); // bounded: the third push waits for the consumer
    const got: number[] = [];
    for await (const v of q) got.push(v);
    await producer;
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('an error reaches the consumer after the items queued before it', async () => {
    const q = new AsyncQueue<number>(10);
    await q.push(1);
    q.fail(new Error('boom'));
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const v of q) got.push(v);
      })(),
    ).rejects.toThrow('boom');
    expect(got).toEqual([1]);
  });

  test('takeNow takes what is queued at once, in order, and lets a waiting producer in', async () => {
    const q = new AsyncQueue<number>(2);
    q.pushNow(1);
    q.pushNow(2);
    const third = q.push(3);
    expect(q.takeNow(10)).toEqual([1, 2]);
    await third;
    expect([q.takeNow(10), q.takeNow(10)]).toEqual([[3], []]);
    q.pushNow(4);
    q.pushNow(5);
    const it = q[Symbol.asyncIterator]();
    expect((await it.next()).value).toBe(4);
    expect(q.takeNow(1)).toEqual([5]);
  });
});
