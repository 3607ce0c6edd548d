// `sluice run` SIGKILLed again and again while it delivers webhooks: after restarts the receiver
// (deduplicating by webhook-id, as the docs tell receivers to) has every event, in order per key.
// And two `sluice run` processes with one config: only the lease holder delivers; killing it hands
// the endpoint to the other.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { provision } from '../../src/nats/provision.js';
import { kvKey } from '../../src/nats/subjects.js';
import { TestNatsServer } from '../support/nats-server.js';
import { freePort, waitFor } from '../support/ports.js';
import { publishResourceEvents, resourceEvent } from '../support/resource-events.js';
import { WebhookReceiver } from '../support/webhook-receiver.js';
import { exited } from './fault-support.js';
import type { ResourceEvent } from '../../src/delivery/resource-event.js';

const root = resolve(import.meta.dirname, '../..');
let nats: TestNatsServer;
let nc: NatsConnection;
let dir: string;
let child: ChildProcess | null = null;
const children: ChildProcess[] = [];
const receivers: WebhookReceiver[] = [];

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'sluice-wh-'));
});

afterAll(async () => {
  child?.kill('SIGKILL');
  for (const c of children) c.kill('SIGKILL');
  for (const r of receivers) await r.close();
  await nc?.close();
  await nats?.stop();
  await rm(dir, { recursive: true, force: true });
});

function sluice(args: string[]): ChildProcess {
  const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SLUICE_LOG_LEVEL: process.env.SLUICE_TEST_LOG ?? 'warn' },
  });
  p.stderr?.on('data', (d: Buffer) => {
    if (process.env.SLUICE_TEST_LOG) process.stderr.write(d);
  });
  return p;
}

function sluiceSync(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, SLUICE_LOG_LEVEL: 'error' },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A receiver slow enough that kills land while many deliveries are in flight, a config file with
 * one webhook on `prefix`, its stream and bucket provisioned, and `keys` × `versions` events.
 */
async function scenario(prefix: string, webhook: string, extra: Record<string, unknown> = {}) {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const receiver = await WebhookReceiver.start(secret, () => ({
    status: 200,
    delayMs: Math.floor(Math.random() * 15),
  }));
  receivers.push(receiver);
  const raw = {
    nats: {
      servers: nats.url,
      stream: prefix.toUpperCase(),
      subjectPrefix: prefix,
      kvBucket: `${prefix}_kv`,
      leaseTtl: '2s',
    },
    api: {
      listen: `127.0.0.1:${await freePort()}`,
      resources: {
        employees: {
          url: `sqlite:${join(dir, 'api.db')}`,
          table: 'emp',
          key: ['id'],
          fields: { id: { column: 'emp_no', codec: 'int' }, name: { column: 'emp_nm', codec: 'trim' } },
        },
      },
    },
    webhooks: [
      {
        name: webhook,
        url: receiver.url,
        secret,
        concurrency: 8,
        timeout: '2s',
        retry: { maxAge: '10m', initialDelay: '10ms', maxDelay: '200ms' },
        ...extra,
      },
    ],
  };
  const file = join(dir, `${prefix}.yaml`);
  await writeFile(file, JSON.stringify(raw));
  const cfg = parseConfig(raw);
  const { kv } = await provision(nc, cfg.nats);

  const keys = 20;
  const versions = 15;
  const events: ResourceEvent[] = [];
  for (let v = 0; v < versions; v++)
    for (let k = 1; k <= keys; k++)
      events.push(
        resourceEvent({
          resource: 'employees',
          type: v === 0 ? 'created' : 'updated',
          key: { id: k },
          after: { id: k, name: `v${v}` },
        }),
      );
  return { secret, receiver, file, kv, events, keys, versions };
}

/** Every event arrived (deduplicated by webhook-id), each key's versions in order, all signed. */
function expectEveryEventInOrder(receiver: WebhookReceiver, events: ResourceEvent[], versions: number): void {
  expect(new Set(receiver.accepted.map((a) => a.id))).toEqual(new Set(events.map((e) => e.id)));
  const byKey = new Map<number, number[]>();
  for (const a of receiver.accepted) {
    const d = a.event.data as { key: { id: number }; after: { name: string } };
    byKey.set(d.key.id, [...(byKey.get(d.key.id) ?? []), Number(d.after.name.slice(1))]);
  }
  expect(byKey.size).toBe(new Set(events.map((e) => JSON.stringify(e.data.key))).size);
  for (const [, seen] of byKey) expect(seen).toEqual([...Array(versions).keys()]);
  expect(receiver.attempts.every((a) => a.signatureValid && a.webhookId === a.eventId)).toBe(true);
}

test(
  'SIGKILL mid-delivery, restarted: the receiver ends with every event, in order per key',
  { timeout: 120_000 },
  async () => {
    const { secret, receiver, file, events, versions } = await scenario('whk', 'payroll');
    await publishResourceEvents(nc, 'whk', events.slice(0, 100));
    child = sluice(['run', '-c', file]);
    // Kill it at random moments while more events arrive; each time only once it has delivered more.
    let published = 100;
    for (let kill = 0; kill < 3; kill++) {
      const before = receiver.accepted.length;
      await waitFor(async () => receiver.accepted.length > before, 'some progress', 30_000, 10);
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      child.kill('SIGKILL');
      await exited(child);
      const next = Math.min(events.length, published + 50);
      await publishResourceEvents(nc, 'whk', events.slice(published, next));
      published = next;
      child = sluice(['run', '-c', file]);
    }
    await publishResourceEvents(nc, 'whk', events.slice(published));
    await waitFor(async () => receiver.accepted.length === events.length, 'every event', 60_000);

    expectEveryEventInOrder(receiver, events, versions);
    const duplicates = receiver.attempts.length - receiver.accepted.length;
    console.log(
      `webhooks sigkill: ${events.length} events, ${receiver.attempts.length} attempts (${duplicates} re-sent after kills)`,
    );

    // The CLI sees the endpoint: backlog 0 once delivered, and the delivery log.
    const status = await waitFor(async () => {
      const s = sluiceSync(['status', '-c', file, '--json']);
      const row = (JSON.parse(s.stdout) as { source: string; backlog?: number }[]).find(
        (r) => r.source === 'payroll',
      );
      return row?.backlog === 0 ? row : null;
    }, 'backlog 0');
    expect(status).toMatchObject({ kind: 'webhook', state: 'delivering', backlog: 0 });
    const log = sluiceSync(['deliveries', 'payroll', '-c', file, '--limit', '5']);
    expect(log.status).toBe(0);
    expect(log.stdout.trim().split('\n')).toHaveLength(5);
    expect(log.stdout).toMatch(/delivered\s+200/);
    expect(log.stdout).not.toContain(secret.slice(6));

    child.kill('SIGTERM');
    await exited(child);
  },
);

/** Publishes a few events at a time with short pauses, as a live source does. */
async function trickle(prefix: string, events: ResourceEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 4) {
    await publishResourceEvents(nc, prefix, events.slice(i, i + 4));
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The pid in the endpoint's lease (owner `<host>:<pid>:<random>`), or null when nobody holds it. */
async function leaseHolder(kv: KV, webhook: string): Promise<number | null> {
  const e = await kv.get(kvKey('webhook-lease', webhook));
  if (!e || e.operation !== 'PUT' || e.value.length === 0) return null;
  const body = e.json<{ owner: string; expiresAt: number }>();
  return body.expiresAt > Date.now() ? Number(body.owner.split(':')[1]) : null;
}

test(
  'two sluice run with one config: one delivers, the other takes over when it is SIGKILLed; every event arrives in order per key',
  { timeout: 120_000 },
  async () => {
    // Small pulls: were both instances consuming, each would get some of a key's versions.
    const { receiver, file, kv, events, versions } = await scenario('whl', 'billing', { maxPending: 8 });
    const running = new Map<number, ChildProcess>();
    const startOne = () => {
      const p = sluice(['run', '-c', file]);
      children.push(p);
      running.set(p.pid!, p);
    };
    startOne();
    startOne();
    let published = 0;
    const holders: number[] = [];
    for (let kill = 0; kill < 3; kill++) {
      const holder = await waitFor(async () => {
        const pid = await leaseHolder(kv, 'billing');
        return pid !== null && running.has(pid) && pid !== holders.at(-1) ? pid : null;
      }, 'a running instance holding the lease');
      holders.push(holder);
      // More events for the holder to deliver, a few at a time (were both instances pulling, each
      // would get some of a key's versions); it is killed once it has delivered some of them.
      const before = receiver.accepted.length;
      const next = Math.min(events.length, published + 80);
      await trickle('whl', events.slice(published, next));
      published = next;
      await waitFor(async () => receiver.accepted.length > before, 'some progress', 30_000, 10);
      const victim = running.get(holder)!;
      victim.kill('SIGKILL');
      await exited(victim);
      running.delete(holder);
      // The standby takes over once the killed holder's lease expires; a new standby joins.
      startOne();
    }
    await trickle('whl', events.slice(published));
    await waitFor(async () => receiver.accepted.length === events.length, 'every event', 60_000);

    expectEveryEventInOrder(receiver, events, versions);
    // Each kill handed the endpoint to an instance that had been waiting beside the holder.
    expect(new Set(holders).size).toBe(holders.length);
    const duplicates = receiver.attempts.length - receiver.accepted.length;
    console.log(
      `webhooks lease: ${events.length} events, ${holders.length} takeovers, ${receiver.attempts.length} attempts (${duplicates} re-sent after kills)`,
    );
    for (const p of running.values()) {
      p.kill('SIGTERM');
      await exited(p);
    }
  },
);
