// Fleet shares over a real NATS KV bucket (issue 15, item 3): members of one config count each
// other and take at most ceil(M/N); a member over its share yields one source at a time; a process
// with another set of sources sharing the bucket is not a member and does not shrink the share.
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/source-adapter.js';
import { Fleet, liveMembers } from '../../src/nats/fleet.js';
import { TestNatsServer } from '../support/nats-server.js';

const noop = () => {};
const log = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop } as unknown as Logger;
const seven = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

describe('fleet shares (real NATS KV)', () => {
  let nats: TestNatsServer;
  let nc: NatsConnection;
  let kv: KV;
  const fleets: Fleet[] = [];
  const join = async (sources: string[], ttlMs = 600) => {
    const f = new Fleet(kv, { sources, ttlMs, log });
    fleets.push(f);
    await f.start();
    return f;
  };
  /** Until `f` counts `n` members (heartbeats run every ttl/3). */
  const sees = (f: Fleet, n: number) => expect.poll(() => f.members, { timeout: 10_000, interval: 50 }).toBe(n);

  beforeAll(async () => {
    nats = await TestNatsServer.start();
    nc = await connect({ servers: nats.url });
    kv = await new Kvm(nc).create('fleet_test', { history: 1 });
  });
  afterAll(async () => {
    for (const f of fleets) await f.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('three members of a 7-source config each take at most 3; the one past its share yields one at a time', async () => {
    const a = await join(seven);
    expect(a.share).toBe(7);
    for (const s of seven) expect(a.reserve(s)).toBe(true);
    const b = await join(seven);
    const c = await join(seven);
    await sees(a, 3);
    await sees(b, 3);
    expect(a.share).toBe(3);
    // Over its share: one source (the first asked) yields; no other until it is released.
    expect(a.shouldYield('a')).toBe(true);
    expect(a.shouldYield('b')).toBe(false);
    a.release('a');
    expect(a.shouldYield('b')).toBe(true);
    a.release('b');
    a.release('c');
    a.release('d');
    expect(a.shouldYield('e')).toBe(false); // 3 held: at its share
    expect(a.reserve('a')).toBe(false);
    // b and c fill up to their share, no further.
    expect(['a', 'b', 'c', 'd'].map((s) => b.reserve(s))).toEqual([true, true, true, false]);
    expect(c.reserve('d')).toBe(true);
    // The members' entries name the sources they hold.
    await expect
      .poll(async () => (await liveMembers(kv)).find((m) => m.instance === c.instance)?.sources, {
        timeout: 10_000,
      })
      .toEqual(['d']);
  });

  it('a process with other sources in the same bucket is not a member; a stopped member leaves at once', async () => {
    const [a, b, c] = fleets;
    const other = await join(['x']);
    await sees(other, 1);
    expect(a!.members).toBe(3);
    await c!.stop();
    await sees(a!, 2);
    await sees(b!, 2);
    expect(a!.share).toBe(4);
    expect(b!.share).toBe(4);
  });
});
