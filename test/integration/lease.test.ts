// The source lease against a real nats-server: what a holder does when its lease key vanishes or
// is taken, what a standby does when a read times out, and what a stopping standby leaves behind.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LeaseLostError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/source-adapter.js';
import { SourceLease } from '../../src/nats/lease.js';
import { TestNatsServer } from '../support/nats-server.js';

const BUCKET = 'lease_test';
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };

let nats: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;
let kv: KV;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  kv = await new Kvm(nc).create(BUCKET, { history: 1 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

function owner(key: string): Promise<string | null> {
  return kv.get(key).then((e) => (e && e.operation === 'PUT' ? e.json<{ owner: string }>().owner : null));
}

describe('SourceLease', () => {
  test('a holder whose lease key vanished (purged, not just deleted) is told it lost the lease', async () => {
    const lease = new SourceLease(kv, 'vanish', 600);
    const lost: Error[] = [];
    expect(await lease.acquire(new AbortController().signal, quiet, (e) => lost.push(e))).toBe(true);
    // Remove every trace of the key, as a recreated bucket or an operator's purge would.
    await jsm.streams.purge(`KV_${BUCKET}`, { filter: `$KV.${BUCKET}.${lease.key}` });
    expect(await kv.get(lease.key)).toBeNull();
    await expect.poll(() => lost.length, { timeout: 10_000 }).toBe(1);
    expect(lost[0]).toBeInstanceOf(LeaseLostError);
    expect(lease.held).toBe(false);
    await lease.drop();
  });

  test('a holder whose lease another instance wrote is told it lost the lease', async () => {
    const lease = new SourceLease(kv, 'taken', 600);
    const lost: Error[] = [];
    await lease.acquire(new AbortController().signal, quiet, (e) => lost.push(e));
    await kv.put(lease.key, JSON.stringify({ owner: 'thief', expiresAt: Date.now() + 60_000 }));
    await expect.poll(() => lost.length, { timeout: 10_000 }).toBe(1);
    expect(lost[0]).toBeInstanceOf(LeaseLostError);
    await expect(lease.confirmHeld()).rejects.toBeInstanceOf(LeaseLostError);
    await lease.drop();
    expect(await owner(lease.key)).toBe('thief'); // the loser's drop leaves the new holder's lease
  });

  test('a standby whose KV read times out keeps waiting instead of failing', async () => {
    let failures = 2;
    const flaky = new Proxy(kv, {
      get(target, prop, receiver) {
        if (prop === 'get')
          return async (...args: unknown[]) => {
            if (failures-- > 0) throw new Error('TIMEOUT');
            return (target.get as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          };
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const lease = new SourceLease(flaky, 'flaky', 300);
    expect(await lease.acquire(new AbortController().signal, quiet, () => {})).toBe(true);
    expect(failures).toBeLessThan(0);
    expect(await owner(lease.key)).toBe(lease.owner);
    await lease.drop();
  });

  test('a standby that stops never deletes the holder’s lease', async () => {
    const holder = new SourceLease(kv, 'shared', 900);
    const standby = new SourceLease(kv, 'shared', 900);
    const lost: Error[] = [];
    await holder.acquire(new AbortController().signal, quiet, (e) => lost.push(e));
    const stopStandby = new AbortController();
    const waiting = standby.acquire(stopStandby.signal, quiet, () => {});
    stopStandby.abort();
    expect(await waiting).toBe(false);
    await standby.drop();
    expect(await owner(holder.key)).toBe(holder.owner);
    // and the holder keeps it: a renewal after the standby left still succeeds
    const before = (await kv.get(holder.key))!.revision;
    await expect
      .poll(async () => (await kv.get(holder.key))!.revision, { timeout: 10_000 })
      .toBeGreaterThan(before);
    expect(lost).toEqual([]);
    expect(await holder.confirmHeld()).toBe(true);
    await holder.drop();
    expect((await kv.get(holder.key))?.operation).toBe('DEL');
  });

  test('a holder whose renewal ran late (blocked event loop) renews by revision before committing', async () => {
    const lease = new SourceLease(kv, 'late', 300);
    await lease.acquire(new AbortController().signal, quiet, () => {});
    const before = (await kv.get(lease.key))!.revision;
    const until = Date.now() + 400; // past the expiry, with no timer able to run
    while (Date.now() < until) {
      /* busy: as a long synchronous module load would */
    }
    await lease.assertHeld(); // nobody took it: renewed, not lost
    expect((await kv.get(lease.key))!.revision).toBeGreaterThan(before);
    // but when another instance took it meanwhile, the commit must not go ahead
    await kv.put(lease.key, JSON.stringify({ owner: 'thief', expiresAt: Date.now() + 60_000 }));
    const until2 = Date.now() + 400;
    while (Date.now() < until2) {
      /* busy */
    }
    await expect(lease.assertHeld()).rejects.toBeInstanceOf(LeaseLostError);
    await lease.drop();
    expect(await owner(lease.key)).toBe('thief');
  });
});
