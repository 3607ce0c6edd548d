// The resource event router in process: a legacy workload on mapped tables becomes resource events
// equal to the raw stream mapped through the resources; a raw event that cannot be mapped goes to
// the dead-letter subject and routing goes on; `sluice status` shows the router's lag.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { resourceWildcard } from '../../src/delivery/resource-event.js';
import { routerConsumerName } from '../../src/delivery/router.js';
import { readAll } from '../../src/nats/stream-reader.js';
import type { Runtime } from '../../src/pipeline/runtime.js';
import { sluice } from '../support/cli.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import {
  checkResourceEvents,
  LEGACY_DDL,
  LEGACY_TABLES,
  LegacyWorkload,
  legacyApi,
  legacyRoutes,
} from '../support/resource-workload.js';

let h: Harness;
let rt: Runtime | null = null;

beforeAll(async () => {
  h = await Harness.start();
  await h.pg.query(LEGACY_DDL);
});

afterAll(async () => {
  await rt?.stop();
  await h?.stop();
});

async function routedThrough(source: string, rawCount: number): Promise<void> {
  const nc = await h.natsConnection();
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(nc);
  await waitFor(
    async () => {
      const info = await jsm.consumers.info('SLUICE', routerConsumerName('sluice', source)).catch(() => null);
      return (
        info !== null &&
        info.num_pending === 0 &&
        info.num_ack_pending === 0 &&
        info.delivered.stream_seq > 0 &&
        (await h.events(source)).length >= rawCount
      );
    },
    'the router to catch up',
    60_000,
    200,
  );
}

test('a legacy workload becomes resource events equal to the raw stream mapped through the resources', async () => {
  const raw = h.rawConfig({ name: 'erp', tables: LEGACY_TABLES }, { leaseTtl: '1s' });
  rt = await h.runInProcess(parseConfig({ ...raw, api: legacyApi('erp') }));
  expect(rt.routers.map((r) => r.source)).toEqual(['erp']);
  await h.waitStreaming(rt);
  const work = new LegacyWorkload(h.pg.url());
  await work.run(150);
  await h.pg.query('INSERT INTO marker VALUES (1)');
  await waitFor(
    async () => (await h.events('erp')).some((e) => e.subject.endsWith('.marker.c')),
    'the marker',
    60_000,
    200,
  );
  const rawEvents = await h.events('erp');
  await routedThrough('erp', rawEvents.length);
  const stored = await readAll(await h.natsConnection(), 'SLUICE', resourceWildcard('sluice'));
  const counts = await checkResourceEvents(rawEvents, stored, legacyRoutes('erp'), h.pg.url());
  console.log(`resource router in process: ${counts.raw} raw events → ${counts.resource} resource events`);
  expect(counts.resource).toBeGreaterThan(100);
  // Headers the webhook dispatcher relies on.
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const jsm = await jetstreamManager(await h.natsConnection());
  const last = await jsm.streams.getMessage('SLUICE', { last_by_subj: 'sluice.resources.customers.*' });
  expect(last!.header.get('Content-Type')).toBe('application/cloudevents+json');
  expect(last!.header.get('Nats-Msg-Id')).toBe(last!.json<{ id: string }>().id);
  expect(JSON.parse(last!.header.get('Sluice-Key'))).toEqual(
    last!.json<{ data: { key: unknown } }>().data.key,
  );
});

test('a raw event that cannot be mapped goes to the dead-letter subject; routing goes on', async () => {
  const nc = await h.natsConnection();
  const { jetstream, headers } = await import('@nats-io/jetstream').then(async (j) => ({
    jetstream: j.jetstream,
    headers: (await import('@nats-io/transport-node')).headers,
  }));
  const js = jetstream(nc);
  const hd = headers();
  hd.set('Nats-Msg-Id', 'erp:poison:0');
  await js.publish('sluice.erp.public.custmast.c', 'not json {', { headers: hd });
  await h.pg.query(`INSERT INTO custmast VALUES ('AFTER', 'After poison', 'Y', 20240101, 1, null)`);
  await waitFor(
    async () =>
      (await readAll(nc, 'SLUICE', 'sluice.resources.customers.created')).some(
        (e) => e.subject && (e.event as { subject: string }).subject === 'AFTER',
      ),
    'the event after the poison one',
    60_000,
    200,
  );
  const dead = await readAll(nc, 'SLUICE', 'sluice.dlq.resources.>');
  expect(dead.map((d) => d.subject).sort()).toEqual([
    'sluice.dlq.resources.customerNames',
    'sluice.dlq.resources.customers',
  ]);
  expect(dead[0]!.event).toMatchObject({
    rawSubject: 'sluice.erp.public.custmast.c',
    rawMsgId: 'erp:poison:0',
  });
  expect(String(dead[0]!.event.reason)).toMatch(/unreadable raw event/);
});

test('sluice status shows the router and its lag; sluice tail shows resource events readably', async () => {
  const file = await h.writeConfig({
    ...h.rawConfig({ name: 'erp', tables: LEGACY_TABLES }, { leaseTtl: '1s' }),
    api: legacyApi('erp'),
  });
  const status = await sluice(['status', '-c', file, '--json']);
  expect(status.code).toBe(0);
  const [row] = JSON.parse(status.stdout) as Record<string, unknown>[];
  expect(row).toMatchObject({ source: 'erp', routerLag: 0 });
  expect(String(row!.router)).toMatch(/^running \(/);
  expect(row!.routerAckFloor).toEqual(expect.any(Number));

  const tail = await sluice(['tail', 'sluice.resources.customers.>', '-c', file, '--from-start', '-n', '3']);
  expect(tail.code).toBe(0);
  const lines = tail.stdout.split('\n');
  expect(lines[0]).toMatch(/^#\d+ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} customers\.snapshot C0001$/);
  expect(lines[1]).toMatch(/^ {4}id="C0001" {2}name="Seed 1" {2}active=true/);
});

test('two instances: one routes, the other stands by and takes over when it stops; nothing lost or doubled', async () => {
  const cfg = parseConfig({
    ...h.rawConfig(
      { name: 'ha', tables: LEGACY_TABLES },
      { stream: 'HA', subjectPrefix: 'ha', leaseTtl: '1s' },
    ),
    api: legacyApi('ha'),
  });
  const a = await h.runInProcess(cfg);
  const b = await h.runInProcess(cfg);
  const nc = await h.natsConnection();
  const resourceEvents = () => readAll(nc, 'HA', resourceWildcard('ha'));
  try {
    const routing = await waitFor(
      async () => {
        const states = [a.routers[0]!.state, b.routers[0]!.state].sort();
        return states[0] === 'routing' && states[1] === 'standby'
          ? a.routers[0]!.state === 'routing'
            ? a
            : b
          : null;
      },
      'one router routing, the other standing by',
      60_000,
      100,
    );
    const standby = routing === a ? b : a;
    // Capture past its snapshot first (see test/faults/resource-router-sigkill.test.ts).
    await waitFor(
      async () => [a, b].some((rt) => rt.coordinators[0]!.state === 'streaming'),
      'capture streaming',
      60_000,
      100,
    );
    const work = new LegacyWorkload(h.pg.url(), 1_000_000);
    work.start();
    await waitFor(async () => (await resourceEvents()).length > 300, 'resource events', 60_000, 200);
    await routing.stop();
    await waitFor(
      async () => standby.routers[0]!.state === 'routing',
      'the standby to take over',
      60_000,
      100,
    );
    const before = (await resourceEvents()).length;
    await waitFor(
      async () => (await resourceEvents()).length > before + 300,
      'routing after the takeover',
      60_000,
      200,
    );
    await work.stop();
    await h.pg.query('INSERT INTO marker VALUES (2)');
    const raw = await waitFor(
      async () => {
        const all = await h.events('ha', 'HA', 'ha');
        return all.some((e) => e.subject.endsWith('.marker.c')) ? all : null;
      },
      'the marker',
      60_000,
      200,
    );
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const jsm = await jetstreamManager(nc);
    await waitFor(
      async () => {
        const info = await jsm.consumers.info('HA', routerConsumerName('ha', 'ha'));
        return (
          info.num_pending === 0 && info.num_ack_pending === 0 && info.delivered.stream_seq >= raw.at(-1)!.seq
        );
      },
      'the router to catch up',
      60_000,
      200,
    );
    const counts = await checkResourceEvents(
      raw,
      await resourceEvents(),
      legacyRoutes('ha', 'ha'),
      h.pg.url(),
      'ha',
    );
    expect(counts.resource).toBeGreaterThan(600);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});
