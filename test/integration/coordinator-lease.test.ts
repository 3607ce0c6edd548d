// The source coordinator against a real nats-server, with a fake source (no database): how it
// resumes a snapshot when NATS hiccups, and what it does when it loses its lease to another
// instance or shares a source with a standby.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Logger } from '../../src/core/source-adapter.js';
import { NatsBus } from '../../src/nats/bus.js';
import { kvKey } from '../../src/nats/subjects.js';
import { SourceCoordinator } from '../../src/pipeline/coordinator.js';
import { FakeSource } from '../support/fake-source.js';
import { TestNatsServer } from '../support/nats-server.js';

const STREAM = 'COORD';
const PREFIX = 'co';
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

let nats: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let kv: KV;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`], storage: 'memory' });
  kv = await new Kvm(nc).create('coord_test', { history: 1 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

function coordinator(
  adapter: FakeSource,
  opts: { leaseTtlMs?: number; jsm?: JetStreamManager } = {},
): { c: SourceCoordinator; done: Promise<void>; settled: () => boolean } {
  const c = new SourceCoordinator({
    adapter,
    bus: new NatsBus({
      nc,
      jsm: opts.jsm ?? jsm,
      kv,
      stream: STREAM,
      prefix: PREFIX,
      publishWindow: 64,
      publishTimeoutMs: 2000,
      leaseTtlMs: opts.leaseTtlMs ?? 1500,
    }),
    prefix: PREFIX,
    commitIntervalMs: 20,
    log: quiet,
  });
  let isSettled = false;
  const done = c.run().finally(() => {
    isSettled = true;
  });
  done.catch(() => {});
  return { c, done, settled: () => isSettled };
}

/** jsm whose getMessage fails `times` times (as a timeout would), then works. */
function flakyJsm(times: number): JetStreamManager {
  let left = times;
  const streams = new Proxy(jsm.streams, {
    get(target, prop, receiver) {
      if (prop === 'getMessage')
        return async (...args: unknown[]) => {
          if (left-- > 0) throw new Error('TIMEOUT');
          return (target.getMessage as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return new Proxy(jsm, {
    get: (target, prop, receiver) => (prop === 'streams' ? streams : Reflect.get(target, prop, receiver)),
  });
}

async function leaseOwner(source: string): Promise<string | null> {
  const e = await kv.get(kvKey('lease', source));
  return e && e.operation === 'PUT' ? e.json<{ owner: string }>().owner : null;
}

describe('snapshot resume reads the last published event', () => {
  test('through a NATS hiccup: retried, never answered with "nothing published"', async () => {
    const h = headers();
    h.set('Nats-Msg-Id', 'resume:snap@x:3');
    h.set('Sluice-Key', '{"id":3}');
    await nc.request(`${PREFIX}.resume.s.t.r`, '{"op":"r"}', { headers: h, timeout: 5000 });
    const src = new FakeSource('resume', { snapshot: true });
    const { c, done } = coordinator(src, { jsm: flakyJsm(2) });
    await expect.poll(() => src.snapshotSeen.length, { timeout: 15_000 }).toBe(1);
    expect(src.snapshotSeen[0]).toMatchObject({ position: 'snap@x', index: 3, key: { id: 3 } });
    c.stop();
    await done;
  });

  test('when NATS keeps failing: the attempt fails as retriable (backoff), the snapshot does not start', async () => {
    const src = new FakeSource('resume2', { snapshot: true });
    const { c, done } = coordinator(src, { jsm: flakyJsm(Number.MAX_SAFE_INTEGER) });
    await expect.poll(() => c.state, { timeout: 30_000 }).toBe('backoff');
    expect(src.snapshotSeen).toEqual([]);
    c.stop();
    await done;
  });
});

describe('losing the lease', () => {
  test('an instance whose lease is taken stops at once, goes back to waiting, and takes over again later', async () => {
    const src = new FakeSource('lose');
    const { c, done, settled } = coordinator(src, { leaseTtlMs: 900 });
    await expect.poll(() => c.state, { timeout: 10_000 }).toBe('streaming');
    src.push(2);
    await expect.poll(() => src.acked.at(-1), { timeout: 10_000 }).toBe(2);
    await kv.put(kvKey('lease', 'lose'), JSON.stringify({ owner: 'thief', expiresAt: Date.now() + 1500 }));
    await expect.poll(() => c.state, { timeout: 10_000 }).toBe('waiting-lease');
    expect(settled()).toBe(false);
    // the thief does not renew: once its lease expires this instance takes the source back
    await expect.poll(() => c.state, { timeout: 15_000 }).toBe('streaming');
    src.push(1);
    await expect.poll(() => src.acked.at(-1), { timeout: 10_000 }).toBe(3);
    c.stop();
    await done;
  });

  test('a process that no longer holds the lease never acknowledges the source, even before its renewal notices', async () => {
    const src = new FakeSource('fence');
    // A long TTL: the next renewal (ttl/3) is far away, so only the fence can stop the acks.
    const { c, done, settled } = coordinator(src, { leaseTtlMs: 60_000 });
    await expect.poll(() => c.state, { timeout: 10_000 }).toBe('streaming');
    src.push(2);
    await expect.poll(() => src.acked.at(-1), { timeout: 10_000 }).toBe(2);
    await kv.put(kvKey('lease', 'fence'), JSON.stringify({ owner: 'thief', expiresAt: Date.now() + 60_000 }));
    src.push(3);
    await expect.poll(() => c.state, { timeout: 10_000 }).toBe('waiting-lease');
    expect(src.acked.every((o) => o <= 2)).toBe(true);
    expect(settled()).toBe(false);
    expect(await leaseOwner('fence')).toBe('thief');
    c.stop();
    await done;
  });
});

describe('a standby beside the streaming instance', () => {
  test('stopping the standby leaves the holder streaming, and status shows the holder’s state', async () => {
    const a = new FakeSource('pair');
    const b = new FakeSource('pair');
    const first = coordinator(a, { leaseTtlMs: 1500 });
    await expect.poll(() => first.c.state, { timeout: 10_000 }).toBe('streaming');
    const holder = await leaseOwner('pair');
    const second = coordinator(b, { leaseTtlMs: 1500 });
    await expect.poll(() => second.c.state, { timeout: 10_000 }).toBe('waiting-lease');
    second.c.stop();
    await second.done;
    const status = await kv.get(kvKey('status', 'pair'));
    expect(status?.json<{ state: string; owner?: string }>()).toMatchObject({
      state: 'streaming',
      owner: holder,
    });
    expect(await leaseOwner('pair')).toBe(holder);
    // the holder goes on: a change after the standby left is published and acknowledged
    a.push(1);
    await expect.poll(() => a.acked.at(-1), { timeout: 10_000 }).toBe(1);
    expect(first.c.state).toBe('streaming');
    expect(b.acked).toEqual([]);
    first.c.stop();
    await first.done;
  });
});
