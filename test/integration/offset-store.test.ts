// The offset store against a real JetStream KV bucket, with the replies of writes lost on the way
// back (as a timeout, a reconnect, or a process resumed after SIGSTOP — whose timers fire before
// its socket is read — makes them look).
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { NatsUnavailableError, OffsetConflictError } from '../../src/core/errors.js';
import { KvOffsetStore } from '../../src/nats/offset-store.js';
import { TestNatsServer } from '../support/nats-server.js';

let nats: TestNatsServer;
let nc: NatsConnection;
let kv: KV;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  kv = await new Kvm(nc).create('offsets_test', { history: 1 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

/** The bucket, with writes that either land and lose their reply, or never land. */
function lossy(mode: { landed: boolean }): KV {
  const fail = () => new Error('TIMEOUT');
  return new Proxy(kv, {
    get(target, prop, receiver) {
      if (prop === 'update' || prop === 'create')
        return async (...args: unknown[]) => {
          if (mode.landed) await (target[prop] as (...a: unknown[]) => Promise<number>).apply(target, args);
          throw fail();
        };
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

describe('KvOffsetStore.commit when the reply of a write is lost', () => {
  test('a write that landed counts as committed, and the next commit goes on from it', async () => {
    const store = new KvOffsetStore(lossy({ landed: true }));
    expect(await store.load('landed')).toBeNull();
    const first = await store.commit('landed', 'a'); // create: landed, reply lost
    expect((await store.load('landed'))?.offset).toBe('a');
    const second = await store.commit('landed', 'b'); // update: landed, reply lost
    expect(second).toBeGreaterThan(first);
    await store.commit('landed', 'c');
    expect((await new KvOffsetStore(kv).load('landed'))?.offset).toBe('c');
  });

  test('a write that did not land is a retriable NATS error, not a conflict, and nothing moved', async () => {
    const mode = { landed: true };
    const store = new KvOffsetStore(lossy(mode));
    await store.load('lost');
    await store.commit('lost', 'a');
    mode.landed = false;
    const err = await store.commit('lost', 'b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsUnavailableError);
    expect((err as NatsUnavailableError).retriable).toBe(true);
    expect((await new KvOffsetStore(kv).load('lost'))?.offset).toBe('a');
  });

  test('another writer in between is still a conflict', async () => {
    const store = new KvOffsetStore(kv);
    await store.load('raced');
    await store.commit('raced', 'a');
    const other = new KvOffsetStore(kv);
    await other.load('raced');
    await other.commit('raced', 'theirs');
    await expect(store.commit('raced', 'b')).rejects.toBeInstanceOf(OffsetConflictError);
  });

  test('a commit nobody answers (the bucket stream gone, as during a leader election) says so', async () => {
    const gone = await new Kvm(nc).create('offsets_gone', { history: 1 });
    const store = new KvOffsetStore(gone);
    await store.load('gone');
    await store.commit('gone', 'a');
    await gone.destroy();
    const err = await store.commit('gone', 'b').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsUnavailableError);
    expect((err as Error).message).toMatch(/no JetStream server answered/);
    expect((err as Error).message).not.toMatch(/not enabled/);
  });

  test('a load that times out is a retriable NATS error (the source retries, it does not fail)', async () => {
    const timingOut = new Proxy(kv, {
      get(target, prop, receiver) {
        if (prop === 'get') return () => Promise.reject(new Error('TIMEOUT'));
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const err = await new KvOffsetStore(timingOut).load('slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NatsUnavailableError);
    expect((err as NatsUnavailableError).retriable).toBe(true);
  });
});
