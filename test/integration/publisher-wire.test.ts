// The publisher's reach into nats.js internals, checked against a real connection: if a nats.js
// upgrade changes one of these shapes, this file fails instead of the publisher slowing down or
// losing its reconnect detection. Also: errors that resending cannot fix end the publisher with a
// PublishError instead of being retried forever.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PublishError } from '../../src/core/errors.js';
import { JetStreamPublisher } from '../../src/nats/publisher.js';
import {
  connectionEpoch,
  hpubFrame,
  protocolOf,
  readReply,
  replySeq,
  sendFrame,
  streamTakes,
} from '../../src/nats/publisher-wire.js';
import { TestNatsServer } from '../support/nats-server.js';

let nats: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'WIRE', subjects: ['wire.>'], storage: 'memory' });
  await jsm.streams.add({ name: 'SMALL', subjects: ['small.>'], storage: 'memory', max_msg_size: 64 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

function nextMsg(subject: string): Promise<Msg> {
  return new Promise((resolve) => {
    const sub = nc.subscribe(subject, {
      max: 1,
      callback: (_err, m) => resolve(m),
    });
    void sub;
  });
}

describe('nats.js internals the publisher uses', () => {
  test('the connection exposes its protocol handler with the fields the frame path needs', () => {
    const proto = protocolOf(nc);
    expect(proto).not.toBeNull();
    expect(typeof proto!.sendCommand).toBe('function');
    expect(typeof proto!.noMorePublishing).toBe('boolean');
    expect(typeof proto!.outMsgs).toBe('number');
    expect(typeof proto!.outBytes).toBe('number');
  });

  test('a frame written through the protocol handler arrives intact and is counted like publish()', async () => {
    const proto = protocolOf(nc)!;
    const inbox = createInbox();
    const got = nextMsg('plain.frame');
    const before = nc.stats().outMsgs;
    const frame = hpubFrame(
      { subject: 'plain.frame', payload: '{"n":"Zoë"}', msgId: 'm:1:0', headers: 'Sluice-Key: 7\r\n' },
      `${inbox}.42`,
    );
    sendFrame(nc, proto, frame);
    const m = await got;
    expect(m.string()).toBe('{"n":"Zoë"}');
    expect(m.headers?.get('Nats-Msg-Id')).toBe('m:1:0');
    expect(m.headers?.get('Sluice-Key')).toBe('7');
    expect(m.reply).toBe(`${inbox}.42`);
    expect(nc.stats().outMsgs).toBe(before + 1);
  });

  test('a received message keeps its raw subject bytes, which replySeq reads', async () => {
    const inbox = createInbox();
    const got = nextMsg(`${inbox}.*`);
    nc.publish(`${inbox}.1234`, 'x');
    const m = await got;
    const raw = (m as unknown as { _msg?: { subject?: unknown } })._msg?.subject;
    expect(raw).toBeInstanceOf(Uint8Array);
    expect(replySeq(m, inbox.length + 1)).toBe(1234);
  });

  test('a PubAck from the server is read by the codec', async () => {
    const inbox = createInbox();
    const got = nextMsg(`${inbox}.*`);
    sendFrame(
      nc,
      protocolOf(nc)!,
      hpubFrame({ subject: 'wire.a', payload: '1', msgId: 'ack:1:0' }, `${inbox}.1`),
    );
    const r = readReply(await got);
    expect('ack' in r && r.ack.seq).toBeGreaterThan(0);
  });

  test('nc.info is replaced on reconnect, so its identity tells connections apart', async () => {
    const first = connectionEpoch(nc);
    expect(first).toBeDefined();
    await nats.restart(200);
    await expect
      .poll(() => connectionEpoch(nc) !== undefined && connectionEpoch(nc) !== first, {
        timeout: 15_000,
      })
      .toBe(true);
    await jsm.streams.info('WIRE').catch(async () => {
      // memory streams do not survive a restart
      await jsm.streams.add({ name: 'WIRE', subjects: ['wire.>'], storage: 'memory' });
      await jsm.streams.add({ name: 'SMALL', subjects: ['small.>'], storage: 'memory', max_msg_size: 64 });
    });
  });
});

describe('permanent publish errors', () => {
  test('the JetStream API says which subjects a stream takes', async () => {
    expect(await streamTakes(nc, 'wire.x.y')).toBe(true);
    expect(await streamTakes(nc, 'nowhere.x')).toBe(false);
  });

  test('a subject no stream takes ends the publisher with a PublishError, not endless retries', async () => {
    const pub = new JetStreamPublisher(nc, { window: 16, timeoutMs: 2000 });
    try {
      await pub.publish({ subject: 'wire.ok', payload: '{}', msgId: 'p:1:0' });
      await pub.waitAcked();
      await pub.publish({ subject: 'nowhere.x', payload: '{}', msgId: 'p:2:0' });
      const err = await pub.waitAcked().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PublishError);
      expect((err as PublishError).retriable).toBe(false);
      expect((err as PublishError).code).toBe('PUBLISH_FAILED');
      expect((err as PublishError).cause).toBeDefined();
      expect((err as Error).message).toMatch(/nowhere\.x/);
      // and nothing more is taken
      await expect(pub.publish({ subject: 'wire.ok', payload: '{}', msgId: 'p:3:0' })).rejects.toBeInstanceOf(
        PublishError,
      );
    } finally {
      await pub.close();
    }
  });

  test('a JetStream API error that resending cannot fix (message over the stream limit) is a PublishError', async () => {
    const pub = new JetStreamPublisher(nc, { window: 16, timeoutMs: 2000 });
    try {
      await pub.publish({ subject: 'small.x', payload: 'y'.repeat(200), msgId: 'q:1:0' });
      const err = await pub.waitAcked().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PublishError);
      expect((err as PublishError).retriable).toBe(false);
      expect((err as Error).message).toMatch(/10054/);
    } finally {
      await pub.close();
    }
  });
});
