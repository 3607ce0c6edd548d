// The dispatcher's headers on a real JetStream stream: a change a Sluice sink wrote carries
// `Sluice-Origin`, the legacy application's own changes do not.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { changeEventSchema, makeChange, type SourceChange } from '../../src/core/change-event.js';
import type { AnySourceAdapter, ChangeBatch } from '../../src/core/source-adapter.js';
import { KvOffsetStore } from '../../src/nats/offset-store.js';
import { JetStreamPublisher } from '../../src/nats/publisher.js';
import { Dispatcher } from '../../src/pipeline/dispatcher.js';
import { TestNatsServer } from '../support/nats-server.js';

let nats: TestNatsServer;
let nc: NatsConnection;
let jsm: JetStreamManager;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'ORIGIN', subjects: ['o.>'] });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function change(id: number, origin?: string): SourceChange {
  return makeChange(
    { connector: 'polling', source: 'erp', version: '0.1.0', db: 'erp' },
    {
      op: 'c',
      schema: 'public',
      table: 'custmast',
      before: null,
      after: { id },
      key: { id },
      tsMs: 1764000000000,
      snapshot: 'false',
      cursor: String(id),
      origin,
      position: `p${id}`,
      index: 0,
    },
  );
}

test('a change with an origin is published with a Sluice-Origin header; one without has none', async () => {
  const kv = await new Kvm(nc).create('origin_offsets', { history: 1 });
  const store = new KvOffsetStore(kv);
  await store.load('erp');
  const publisher = new JetStreamPublisher(nc, { window: 16, timeoutMs: 5000 });
  const adapter = {
    name: 'erp',
    offsets: { serialize: (o: unknown) => String(o) },
    acknowledge: async () => {},
  } as unknown as AnySourceAdapter;
  const dispatcher = new Dispatcher({
    adapter,
    publisher,
    store,
    prefix: 'o',
    commitIntervalMs: 0,
    log: quiet,
  });
  async function* batches(): AsyncGenerator<ChangeBatch<unknown>> {
    yield { changes: [change(1), change(2, 'crm-sink'), change(3)], offset: 3 };
  }
  await dispatcher.run(batches());
  await publisher.close();

  const got = [];
  for (let seq = 1; seq <= 3; seq++) {
    const m = await jsm.streams.getMessage('ORIGIN', { seq });
    expect(m).not.toBeNull();
    const event = changeEventSchema.parse(m!.json());
    got.push({
      id: event.after?.id,
      origin: event.origin,
      header: m!.header?.get('Sluice-Origin') ?? '',
      key: m!.header?.get('Sluice-Key'),
      contentType: m!.header?.get('Content-Type'),
    });
  }
  expect(got).toEqual([
    { id: 1, origin: undefined, header: '', key: '{"id":1}', contentType: 'application/json' },
    { id: 2, origin: 'crm-sink', header: 'crm-sink', key: '{"id":2}', contentType: 'application/json' },
    { id: 3, origin: undefined, header: '', key: '{"id":3}', contentType: 'application/json' },
  ]);
  expect((await store.load('erp'))?.offset).toBe('3');
});
