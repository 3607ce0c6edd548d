// The `oracle` adapter from driver rows to published events: recorded rows through a fake oracledb
// driver (no Oracle runs here), the real coordinator and dispatcher, a real nats-server. Checks the
// subjects, headers and order JetStream holds, then a restart from the committed offset with more
// redo: only the new transaction is added, nothing twice.
import { jetstreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { OracleAdapter } from '../../adapters/oracle/index.js';
import { oracleSourceSchema } from '../../adapters/oracle/config.js';
import { changeEventSchema } from '../../src/core/change-event.js';
import { NatsBus } from '../../src/nats/bus.js';
import { readAll } from '../../src/nats/stream-reader.js';
import { SourceCoordinator } from '../../src/pipeline/coordinator.js';
import { fakeOracle, type FakeOracle, type FakeOracleWorld } from '../support/fake-oracle-logminer.js';
import { quietLog } from '../support/harness.js';
import { TestNatsServer } from '../support/nats-server.js';
import { ctl, ins, world } from '../support/oracle-recorded-world.js';
import { waitFor } from '../support/ports.js';

const STREAM = 'ORAREC';
const PREFIX = 'orarec';
let nats: TestNatsServer;
let nc: NatsConnection;
let kv: KV;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({
    name: STREAM,
    subjects: [`${PREFIX}.>`],
    storage: 'memory',
    duplicate_window: 60e9,
  });
  kv = await new Kvm(nc).create('orarec_offsets', { history: 1 });
});
afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

async function runUntil(w: FakeOracleWorld, count: number): Promise<FakeOracle> {
  const fake = fakeOracle(w);
  const cfg = oracleSourceSchema.parse({
    name: 'erp',
    kind: 'oracle',
    url: 'oracle://c%23%23sluice:pw@db.example/FREEPDB1',
    tables: ['APP.CUSTOMERS'],
    pollInterval: '20ms',
    miningWindow: 5,
  });
  const c = new SourceCoordinator({
    adapter: new OracleAdapter(cfg, quietLog, () => Promise.resolve(fake.driver)),
    bus: new NatsBus({
      nc,
      jsm: await jetstreamManager(nc),
      kv,
      stream: STREAM,
      prefix: PREFIX,
      publishWindow: 64,
      publishTimeoutMs: 5000,
      leaseTtlMs: 2000,
    }),
    prefix: PREFIX,
    commitIntervalMs: 20,
    log: quietLog,
  });
  const done = c.run();
  done.catch(() => {});
  try {
    await waitFor(
      async () => (await readAll(nc, STREAM, `${PREFIX}.>`)).length >= count,
      `${count} events`,
      30_000,
    );
    // The last batch's offset is committed once the coordinator is idle again.
    await waitFor(
      async () => {
        const e = await kv.get('offset.erp').catch(() => null);
        const o = e?.value?.length ? (JSON.parse(e.string()) as { offset: string }) : null;
        return o !== null && (JSON.parse(o.offset) as { snapshot?: unknown }).snapshot === undefined;
      },
      'the streaming offset committed',
      30_000,
    ).catch(() => {});
  } finally {
    c.stop();
    await done.catch(() => {});
  }
  return fake;
}

test('recorded rows (fake oracledb driver) → snapshot and LogMiner stream → JetStream, then a restart adds only what is new', async () => {
  await runUntil(world({ currentScns: ['1000', '1000', '1015'] }), 8);
  const first = await readAll(nc, STREAM, `${PREFIX}.>`);
  expect(first.map((m) => m.subject)).toEqual([
    `${PREFIX}.erp.APP.CUSTOMERS.r`,
    `${PREFIX}.erp.APP.CUSTOMERS.r`,
    `${PREFIX}.erp.APP.CUSTOMERS.c`,
    `${PREFIX}.erp.APP.CUSTOMERS.u`,
    `${PREFIX}.erp.APP.CUSTOMERS.c`,
    `${PREFIX}.erp.APP.CUSTOMERS.d`,
    `${PREFIX}.erp.APP.CUSTOMERS.c`,
    `${PREFIX}.erp.APP.CUSTOMERS.u`,
  ]);
  for (const m of first) changeEventSchema.parse(m.event);
  expect(first.slice(2).map((m) => m.msgId)).toEqual([
    'erp:1005-1-A1:0',
    'erp:1005-2-B1:0',
    'erp:1009-1-E1:0',
    'erp:1009-1-E1:1',
    'erp:1013-1-D1:0',
    'erp:1013-1-D1:1',
  ]);
  expect(first[2]!.key).toEqual({ ID: 2 });

  // Restart: the same redo plus a transaction committed after the last one published.
  const more = world({ currentScns: ['1020'] });
  more.redo.push(
    ctl('1016', '6', 'F1'),
    ins('1016', 'F1', `insert into "APP"."CUSTOMERS"("ID","NAME") values ('5','five');`),
    ctl('1017', '7', 'F1'),
  );
  const second = await runUntil(more, 9);
  // It resumed from the committed offset (mining from SCN 1015), not by re-reading and relying on dedup.
  expect(second.windows[0]).toEqual(['1015', '1020']);
  expect(second.sent.some((q) => q.sql.includes('AS OF SCN'))).toBe(false);
  const after = await readAll(nc, STREAM, `${PREFIX}.>`);
  expect(after).toHaveLength(9);
  expect(after.at(-1)!.msgId).toBe('erp:1017-1-F1:0');
  expect(new Set(after.map((m) => m.msgId)).size).toBe(9);
});
