// Webhook delivery against a real nats-server and real HTTP receivers on loopback: an adversarial
// receiver, a poison endpoint beside a healthy one, 410, redirects, filters, replay.
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { jetstream, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { SluiceConfig } from '../../src/config/schema.js';
import { startWebhooks, type WebhookRuntime } from '../../src/delivery/webhooks/index.js';
import {
  deliveryLogWriter,
  ensureDeliveryLog,
  readDeliveries,
  type DeliveryAttempt,
} from '../../src/delivery/webhooks/delivery-log.js';
import { listDeadLetters, replayDeadLetters } from '../../src/delivery/webhooks/webhook-dlq.js';
import { loadWebhookState, resumeWebhook } from '../../src/delivery/webhooks/webhook-state.js';
import type { Logger } from '../../src/core/source-adapter.js';
import { provision } from '../../src/nats/provision.js';
import { kvKey } from '../../src/nats/subjects.js';
import { registry } from '../../src/util/metrics.js';
import { TestNatsServer } from '../support/nats-server.js';
import { waitFor } from '../support/ports.js';
import { publishResourceEvents, resourceEvent } from '../support/resource-events.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import type { ResourceEvent } from '../../src/delivery/resource-event.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
let nats: TestNatsServer;
let nc: NatsConnection;
let n = 0;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await nc?.close();
  await nats?.stop();
});

function newSecret(): string {
  return `whsec_${randomBytes(24).toString('base64')}`;
}

const employees = {
  url: 'sqlite:./unused.db',
  table: 'emp',
  key: ['id'],
  fields: {
    id: { column: 'emp_no', codec: 'int' },
    name: { column: 'emp_nm', codec: 'trim' },
    department: { column: 'dept', codec: 'trim' },
  },
};

interface Setup {
  cfg: SluiceConfig;
  rt: WebhookRuntime;
  kv: KV;
  jsm: JetStreamManager;
  prefix: string;
}

/** A fresh stream, prefix and KV bucket per test, and the webhooks started on them. */
async function setup(
  webhooks: Record<string, unknown>[],
  opts: { resumePollMs?: number; leaseTtl?: string; log?: Logger } = {},
): Promise<Setup> {
  const id = ++n;
  const prefix = `wh${id}`;
  const cfg = parseConfig({
    nats: {
      servers: nats.url,
      stream: `WH${id}`,
      subjectPrefix: prefix,
      kvBucket: `wh_kv_${id}`,
      ...(opts.leaseTtl ? { leaseTtl: opts.leaseTtl } : {}),
    },
    api: { resources: { employees, departments: { ...employees, table: 'dept', key: ['department'] } } },
    webhooks,
  });
  const { jsm, kv } = await provision(nc, cfg.nats);
  const rt = await startWebhooks(nc, jsm, kv, cfg, opts.log ?? silent, {
    resumePollMs: opts.resumePollMs ?? 100,
  });
  cleanups.push(() => rt.stop());
  return { cfg, rt, kv, jsm, prefix };
}

function updates(keys: number, perKey: number, dept = (_k: number) => 'ENG'): ResourceEvent[] {
  const out: ResourceEvent[] = [];
  for (let v = 0; v < perKey; v++)
    for (let k = 1; k <= keys; k++)
      out.push(
        resourceEvent({
          resource: 'employees',
          type: v === 0 ? 'created' : 'updated',
          key: { id: k },
          after: { id: k, name: `v${v}`, department: dept(k) },
          before: v === 0 ? null : { id: k, name: `v${v - 1}`, department: dept(k) },
        }),
      );
  return out;
}

/** Per key, the versions in the order the receiver first accepted them. */
function versionsByKey(accepted: WebhookReceiver['accepted']): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const a of accepted) {
    const data = a.event.data as { key: { id: number }; after: { name: string } };
    const list = out.get(data.key.id) ?? [];
    list.push(Number(data.after.name.slice(1)));
    out.set(data.key.id, list);
  }
  return out;
}

test('an adversarial receiver (down, 500s, 429 Retry-After, slower than the timeout): every event arrives, in order per key, signed, with one webhook-id', async () => {
  const secret = newSecret();
  const receiver = await WebhookReceiver.start(secret);
  cleanups.push(() => receiver.close());
  await receiver.down();
  receiver.handler = () => {
    const r = Math.random();
    if (r < 0.25) return { status: 500, body: 'boom' };
    if (r < 0.35) return { status: 429, headers: { 'retry-after': '0' } };
    if (r < 0.45)
      return { status: 503, headers: { 'retry-after': new Date(Date.now() + 200).toUTCString() } };
    if (r < 0.55) return { status: 200, delayMs: 300 }; // beyond the 150 ms timeout
    return { status: 200 };
  };
  const { prefix } = await setup([
    {
      name: 'adversary',
      url: receiver.url,
      secret,
      timeout: '150ms',
      concurrency: 8,
      retry: { maxAge: '10m', initialDelay: '10ms', maxDelay: '100ms' },
    },
  ]);
  const events = updates(12, 8);
  await publishResourceEvents(nc, prefix, events);
  // Down for a while: attempts are refused connections.
  await new Promise((r) => setTimeout(r, 300));
  await receiver.listen();
  await waitFor(async () => receiver.accepted.length === events.length, 'every event accepted', 60_000);

  // Per key, the versions arrive in order.
  for (const [, versions] of versionsByKey(receiver.accepted))
    expect(versions).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  // Every attempt is signed as Standard Webhooks says, with webhook-id = the event id (on every retry).
  expect(receiver.attempts.every((a) => a.signatureValid)).toBe(true);
  expect(receiver.attempts.every((a) => a.webhookId === a.eventId)).toBe(true);
  expect(receiver.attempts.every((a) => a.contentType === 'application/cloudevents+json')).toBe(true);
  expect(new Set(receiver.accepted.map((a) => a.id))).toEqual(new Set(events.map((e) => e.id)));
  // Some events took several attempts: retries happened and kept their id.
  expect(receiver.attempts.length).toBeGreaterThan(events.length);
  // The body is the CloudEvent as published.
  const first = receiver.accepted.find((a) => a.id === events[0]!.id)!;
  expect(first.event).toEqual(events[0]);
});

test('a poison endpoint (always 500) does not hold back another endpoint, and ends in the dead-letter subject; replay re-sends', async () => {
  const secret = newSecret();
  const healthy = await WebhookReceiver.start(secret);
  let poisonStatus = 500;
  const poison = await WebhookReceiver.start(secret, () => ({
    status: poisonStatus,
    body: 'x'.repeat(5000),
  }));
  cleanups.push(
    () => healthy.close(),
    () => poison.close(),
  );
  const { cfg, prefix } = await setup([
    {
      name: 'poison',
      url: poison.url,
      secret,
      concurrency: 1,
      retry: { maxAge: '300ms', initialDelay: '20ms', maxDelay: '50ms' },
    },
    { name: 'healthy', url: healthy.url, secret, concurrency: 4 },
  ]);
  const events = updates(5, 2);
  await publishResourceEvents(nc, prefix, events);
  await waitFor(
    async () => healthy.accepted.length === events.length,
    'the healthy endpoint gets everything',
  );
  // The poison endpoint needs ~300 ms per event, one at a time: it is still far from done.
  expect((await listDeadLetters(nc, cfg, 'poison')).length).toBeLessThan(events.length);

  const letters = await waitFor(async () => {
    const l = await listDeadLetters(nc, cfg, 'poison');
    return l.length === events.length ? l : null;
  }, 'every poison event dead-lettered');
  expect(letters.map((l) => l.letter.eventId)).toEqual(events.map((e) => e.id));
  const one = letters[0]!.letter;
  expect(one.lastStatus).toBe(500);
  expect(one.lastError).toBe('HTTP 500');
  expect(one.bodyExcerpt!.length).toBe(1024);
  expect(one.attempts).toBeGreaterThan(1);
  expect(JSON.parse(one.body)).toEqual(events[0]);

  // Metrics per endpoint.
  const text = await registry.metrics();
  expect(text).toMatch(/sluice_webhook_attempts_total\{webhook="poison",class="5xx"\} \d+/);
  expect(text).toMatch(/sluice_webhook_dead_lettered_total\{webhook="poison"\} 10/);
  expect(text).toMatch(/sluice_webhook_in_flight_keys\{webhook="healthy"\} 0/);

  // The delivery log holds every attempt.
  const failed = await waitFor(async () => {
    const d = await readDeliveries(nc, cfg, 'poison', { failed: true, limit: 1000 });
    return d.length >= letters.reduce((a, l) => a + l.letter.attempts, 0) ? d : null;
  }, 'the delivery log');
  expect(failed.every((a) => a.outcome === 'failed' && a.status === 500)).toBe(true);
  expect((await readDeliveries(nc, cfg, 'healthy', { limit: 3 })).length).toBe(3);

  // Replay: the endpoint recovered; dead letters are re-sent (same ids, signed) and removed.
  poisonStatus = 200;
  const report = await replayDeadLetters(nc, cfg, cfg.webhooks[0]!, {
    maxAgeMs: 5000,
    signal: new AbortController().signal,
  });
  expect(report).toEqual({ replayed: events.length, failed: 0, gone: false });
  expect(poison.accepted.map((a) => a.id)).toEqual(events.map((e) => e.id));
  expect(await listDeadLetters(nc, cfg, 'poison')).toEqual([]);
});

test('410 Gone pauses the endpoint (state in KV) until resumed; then everything arrives', async () => {
  const secret = newSecret();
  let gone = true;
  const receiver = await WebhookReceiver.start(secret, () => (gone ? { status: 410 } : { status: 200 }));
  cleanups.push(() => receiver.close());
  const { kv, prefix } = await setup([{ name: 'gone', url: receiver.url, secret, concurrency: 2 }]);
  const events = updates(3, 3);
  await publishResourceEvents(nc, prefix, events);
  const state = await waitFor(async () => (await loadWebhookState(kv, 'gone')).paused, 'the pause');
  expect(state.reason).toMatch(/410/);
  expect(await registry.metrics()).toMatch(/sluice_webhook_paused\{webhook="gone"\} 1/);
  const seenWhilePaused = receiver.attempts.length;
  await new Promise((r) => setTimeout(r, 300));
  expect(receiver.attempts.length).toBe(seenWhilePaused);

  gone = false;
  expect(await resumeWebhook(kv, 'gone')).toBe(true);
  await waitFor(async () => receiver.accepted.length === events.length, 'every event after resume');
  for (const [, versions] of versionsByKey(receiver.accepted)) expect(versions).toEqual([0, 1, 2]);
});

test('an instance whose endpoint lease is taken stops sending and waits, never exits; it takes the lease back once free', async () => {
  const secret = newSecret();
  const receiver = await WebhookReceiver.start(secret);
  cleanups.push(() => receiver.close());
  const said: string[] = [];
  const log = { ...silent, warn: (_o: object, msg: string) => void said.push(msg) };
  const { kv, prefix, rt } = await setup([{ name: 'leased', url: receiver.url, secret, concurrency: 4 }], {
    leaseTtl: '600ms',
    log,
  });
  const first = updates(5, 2);
  await publishResourceEvents(nc, prefix, first);
  await waitFor(async () => receiver.accepted.length === first.length, 'the first events');

  // Another instance takes the lease (as one would after this one froze past its expiry).
  const key = kvKey('webhook-lease', 'leased');
  await kv.put(key, JSON.stringify({ owner: 'other:1:x', expiresAt: Date.now() + 60_000 }));
  await waitFor(async () => said.some((m) => m.startsWith('no longer the holder')), 'the loss noticed');
  const second = updates(5, 2);
  await publishResourceEvents(nc, prefix, second);
  const attemptsBefore = receiver.attempts.length;
  await new Promise((r) => setTimeout(r, 500));
  expect(receiver.attempts.length).toBe(attemptsBefore);
  expect(rt.endpoints[0]!.name).toBe('leased');

  // The other instance lets go: this one takes the lease back and delivers the rest.
  await kv.delete(key);
  await waitFor(
    async () => receiver.accepted.length === first.length + second.length,
    'the events published while another instance held the lease',
  );
  const e = await kv.get(key);
  expect(e?.json<{ owner: string }>().owner).toMatch(new RegExp(`:${process.pid}:`));
});

test('redirects are not followed: only the configured URL is contacted', async () => {
  const secret = newSecret();
  const elsewhere = await WebhookReceiver.start(secret);
  const redirecting = await WebhookReceiver.start(secret, () => ({
    status: 307,
    headers: { location: elsewhere.url },
  }));
  cleanups.push(
    () => elsewhere.close(),
    () => redirecting.close(),
  );
  const { cfg, prefix } = await setup([
    {
      name: 'redirect',
      url: redirecting.url,
      secret,
      retry: { maxAge: '100ms', initialDelay: '10ms', maxDelay: '20ms' },
    },
  ]);
  const events = updates(1, 1);
  await publishResourceEvents(nc, prefix, events);
  const letters = await waitFor(async () => {
    const l = await listDeadLetters(nc, cfg, 'redirect');
    return l.length === 1 ? l : null;
  }, 'the dead letter');
  expect(letters[0]!.letter.lastStatus).toBe(307);
  expect(letters[0]!.letter.lastError).toMatch(/redirect not followed/);
  expect(redirecting.attempts.length).toBeGreaterThan(0);
  expect(elsewhere.attempts.length).toBe(0);
});

test('filter, resources and types select what is sent; deletes are matched on before', async () => {
  const secret = newSecret();
  const receiver = await WebhookReceiver.start(secret);
  cleanups.push(() => receiver.close());
  const { prefix } = await setup([
    { name: 'eng', url: receiver.url, secret, resources: ['employees'], filter: 'department=eq.ENG' },
  ]);
  const events = [
    ...updates(4, 2, (k) => (k % 2 === 0 ? 'ENG' : 'SALES')),
    resourceEvent({
      resource: 'employees',
      type: 'deleted',
      key: { id: 2 },
      before: { id: 2, name: 'v1', department: 'ENG' },
    }),
    resourceEvent({
      resource: 'employees',
      type: 'deleted',
      key: { id: 3 },
      before: { id: 3, name: 'v1', department: 'SALES' },
    }),
    resourceEvent({
      resource: 'employees',
      type: 'snapshot',
      key: { id: 4 },
      after: { id: 4, name: 'v9', department: 'ENG' },
    }),
    resourceEvent({
      resource: 'departments',
      type: 'created',
      key: { department: 'ENG' },
      after: { id: 1, name: 'x', department: 'ENG' },
    }),
  ];
  const marker = resourceEvent({
    resource: 'employees',
    type: 'created',
    key: { id: 99 },
    after: { id: 99, name: 'v0', department: 'ENG' },
  });
  await publishResourceEvents(nc, prefix, [...events, marker]);
  await waitFor(async () => receiver.accepted.some((a) => a.id === marker.id), 'the marker');
  const got = receiver.accepted.map((a) => a.event as unknown as ResourceEvent);
  expect(got.map((e) => `${e.type} ${e.subject}`).sort()).toEqual([
    'employees.created 2',
    'employees.created 4',
    'employees.created 99',
    'employees.deleted 2',
    'employees.updated 2',
    'employees.updated 4',
  ]);
});

test('sluice deliveries --limit N reads about the last N attempts of the log, not all of it', async () => {
  const cfg = parseConfig({
    nats: { servers: nats.url, stream: 'WHLOG', subjectPrefix: 'whlog', kvBucket: 'whlog_kv' },
    api: { resources: { employees } },
    webhooks: [
      { name: 'a', url: 'http://127.0.0.1:9/a', secret: newSecret() },
      { name: 'b', url: 'http://127.0.0.1:9/b', secret: newSecret() },
    ],
  });
  const { jsm } = await provision(nc, cfg.nats);
  await ensureDeliveryLog(jsm, cfg);
  const writer = deliveryLogWriter(jetstream(nc), 'whlog', (err) => {
    throw err;
  });
  // 3000 attempts: two thirds for `b`, one third for `a`, every 40th of `a` a failure.
  const written: DeliveryAttempt[] = [];
  for (let i = 0; i < 3000; i++) {
    const webhook = i % 3 === 0 ? 'a' : 'b';
    const failed = webhook === 'a' && (i / 3) % 40 === 0;
    const a: DeliveryAttempt = {
      webhook,
      eventId: `e${i}`,
      resource: 'employees',
      type: 'updated',
      key: { id: i },
      attempt: 1,
      status: failed ? 500 : 200,
      statusClass: failed ? '5xx' : '2xx',
      latencyMs: 1,
      error: null,
      outcome: failed ? 'failed' : 'delivered',
      at: new Date().toISOString(),
    };
    written.push(a);
  }
  for (let i = 0; i < written.length; i += 200)
    await Promise.all(written.slice(i, i + 200).map((a) => writer.record(a)));
  const ofA = written.filter((a) => a.webhook === 'a');
  // Written 200 at a time in parallel, so the stored order (the reference below) is the log's own.
  const stored = await readDeliveries(nc, cfg, 'a', { limit: 100_000 });
  expect(stored.map((a) => a.eventId).sort()).toEqual(ofA.map((a) => a.eventId).sort());

  const stats = { scanned: 0 };
  const last = await readDeliveries(nc, cfg, 'a', { limit: 10, stats });
  expect(last).toEqual(stored.slice(-10));
  expect(stats.scanned).toBeLessThan(100);

  const failedStats = { scanned: 0 };
  const failed = await readDeliveries(nc, cfg, 'a', { limit: 5, failed: true, stats: failedStats });
  expect(failed).toEqual(stored.filter((a) => a.outcome === 'failed').slice(-5));
  expect(failedStats.scanned).toBeLessThan(ofA.length);

  expect(await readDeliveries(nc, cfg, 'nobody', { limit: 5 })).toEqual([]);
});
