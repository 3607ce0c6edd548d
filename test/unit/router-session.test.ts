// The router session's ordering rules without a server (the NATS side is covered by
// test/integration/resource-router.test.ts and test/faults/resource-router-sigkill.test.ts): what
// a crashed holder left is routed first and in stream order, redeliveries are not routed twice, a
// delivery gap stops the session before anything after the hole, raw events are acknowledged only
// after their resource events are stored, in order.
import type { Consumer, ConsumerInfo, JsMsg } from '@nats-io/jetstream';
import { describe, expect, test } from 'vitest';
import type { Publisher, PublishRequest } from '../../src/core/publisher.js';
import type { FieldSpec } from '../../src/core/mapping.js';
import { SourceRoutes } from '../../src/delivery/resource-events.js';
import { RouterSession } from '../../src/delivery/router-session.js';
import { quietLog } from '../support/harness.js';

const field = (column: string): FieldSpec => ({
  column,
  codec: 'string',
  options: {},
  nullable: true,
  readOnly: false,
  generated: false,
});
const routes = new SourceRoutes(
  'erp',
  {
    items: {
      source: 'erp',
      table: 'public.items',
      key: ['id'],
      fields: { id: field('id') },
      hiddenFields: {},
    },
  },
  'sluice',
);

interface Delivery {
  seq: number;
  dseq: number;
  dc?: number;
}

function msg(d: Delivery, acks: number[]): JsMsg {
  const body = {
    op: 'c',
    before: null,
    after: { id: `k${d.seq}` },
    source: { name: 'erp', ts_ms: 0, schema: 'public', table: 'items' },
    ts_ms: 0,
  };
  return {
    seq: d.seq,
    subject: 'sluice.erp.public.items.c',
    info: { deliverySequence: d.dseq, deliveryCount: d.dc ?? 1 },
    headers: { get: (h: string) => (h === 'Nats-Msg-Id' ? `erp:${d.seq}:0` : '') },
    data: new TextEncoder().encode(JSON.stringify(body)),
    ack: () => acks.push(d.seq),
  } as unknown as JsMsg;
}

/** A publisher whose PubAcks arrive when the test says (or at once with `auto`). */
class FakePublisher implements Publisher {
  sent: PublishRequest[] = [];
  ackedThrough = 0;
  maxPayload = 1 << 20;
  #waiters: { seq: number; resolve: () => void }[] = [];
  constructor(readonly auto = true) {}
  get lastSeq(): number {
    return this.sent.length;
  }
  trySend(req: PublishRequest): number {
    this.sent.push(req);
    if (this.auto) this.ack(this.sent.length);
    return this.sent.length;
  }
  async publish(req: PublishRequest): Promise<number> {
    return this.trySend(req);
  }
  ack(through: number): void {
    this.ackedThrough = Math.max(this.ackedThrough, through);
    for (const w of this.#waiters.filter((w) => w.seq <= this.ackedThrough)) w.resolve();
    this.#waiters = this.#waiters.filter((w) => w.seq > this.ackedThrough);
  }
  waitAcked(seq = this.lastSeq): Promise<void> {
    if (seq <= this.ackedThrough) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ seq, resolve }));
  }
  async close(): Promise<void> {}
}

function session(
  deliveries: Delivery[],
  info: { floor: number; dseq: number; pending: number },
  pub = new FakePublisher(),
  edit: (m: JsMsg, i: number) => JsMsg = (m) => m,
) {
  const acks: number[] = [];
  const consumer = {
    consume: async () => {
      const msgs = deliveries.map((d, i) => edit(msg(d, acks), i));
      return Object.assign(
        (async function* () {
          yield* msgs;
        })(),
        { close: async () => {} },
      );
    },
  } as unknown as Consumer;
  const s = new RouterSession({
    consumer,
    info: {
      ack_floor: { stream_seq: info.floor, consumer_seq: 0 },
      delivered: { stream_seq: 0, consumer_seq: info.dseq },
      num_ack_pending: info.pending,
    } as ConsumerInfo,
    publisher: pub,
    routes,
    prefix: 'sluice',
    fence: { assertHeld: async () => {}, confirmHeld: async () => true },
    ackWaitMs: 1000,
    batch: 100,
    signal: new AbortController().signal,
    log: quietLog,
  });
  return { s, acks, pub };
}

const routedSeqs = (pub: FakePublisher) => pub.sent.map((r) => Number(r.msgId.split(':')[1]));

describe('RouterSession', () => {
  test('routes in stream order and acknowledges each raw event after its resource event', async () => {
    const { s, acks, pub } = session(
      [1, 2, 3].map((seq) => ({ seq, dseq: seq })),
      { floor: 0, dseq: 0, pending: 0 },
    );
    expect(await s.run()).toBe('stopped');
    expect(routedSeqs(pub)).toEqual([1, 2, 3]);
    expect(pub.sent[0]).toMatchObject({
      subject: 'sluice.resources.items.created',
      msgId: 'erp:1:0/items/0',
    });
    expect(acks).toEqual([1, 2, 3]);
  });

  test('what a crashed holder left is routed first, in stream order, before newer messages', async () => {
    // Floor 10; 11 and 13 were left unacknowledged; 14, 15 arrive new before the redeliveries.
    const { s, acks, pub } = session(
      [
        { seq: 14, dseq: 21 },
        { seq: 13, dseq: 22, dc: 2 },
        { seq: 15, dseq: 23 },
        { seq: 11, dseq: 24, dc: 3 },
        { seq: 16, dseq: 25 },
      ],
      { floor: 10, dseq: 20, pending: 2 },
    );
    await s.run();
    expect(routedSeqs(pub)).toEqual([11, 13, 14, 15, 16]);
    expect(acks).toEqual([11, 13, 14, 15, 16]);
  });

  test('redeliveries are not routed twice: ignored while in flight, acknowledged again once done', async () => {
    const pub = new FakePublisher(false);
    const { s, acks } = session(
      [
        { seq: 1, dseq: 1 },
        { seq: 2, dseq: 2 },
        { seq: 1, dseq: 3, dc: 2 }, // still in flight: ignored
        { seq: 3, dseq: 4 },
      ],
      { floor: 0, dseq: 0, pending: 0 },
      pub,
    );
    const done = s.run();
    await new Promise((r) => setTimeout(r, 10));
    expect(acks).toEqual([]); // nothing stored yet
    pub.ack(1);
    await new Promise((r) => setTimeout(r, 10));
    expect(acks).toEqual([1]);
    pub.ack(3);
    await done;
    expect(routedSeqs(pub)).toEqual([1, 2, 3]);
    expect(acks).toEqual([1, 2, 3]);

    const again = session(
      [
        { seq: 5, dseq: 1 },
        { seq: 6, dseq: 2 },
        { seq: 4, dseq: 3, dc: 2 }, // at or below the floor: done before
      ],
      { floor: 4, dseq: 0, pending: 0 },
    );
    await again.s.run();
    expect(routedSeqs(again.pub)).toEqual([5, 6]);
    expect(again.acks).toEqual([5, 6, 4]);
  });

  test('a delivery gap ends the session before the message after the hole', async () => {
    const { s, acks, pub } = session(
      [
        { seq: 1, dseq: 1 },
        { seq: 3, dseq: 3 }, // dseq 2 (seq 2) was lost on the way
      ],
      { floor: 0, dseq: 0, pending: 0 },
    );
    expect(await s.run()).toBe('gap');
    expect(routedSeqs(pub)).toEqual([1]);
    expect(acks).toEqual([1]);
  });

  test('events of tables no resource maps, and the source dead letters, are acknowledged without output', async () => {
    const subjects = ['sluice.erp.public.other.c', 'sluice.erp._dlq'];
    const { s, acks, pub } = session(
      [1, 2].map((seq) => ({ seq, dseq: seq })),
      { floor: 0, dseq: 0, pending: 0 },
      new FakePublisher(),
      (m, i) => ({ ...m, subject: subjects[i]! }),
    );
    await s.run();
    expect(pub.sent).toEqual([]);
    expect(acks).toEqual([1, 2]);
  });
});
