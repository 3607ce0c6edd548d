// `sluice run` SIGKILLed again and again while it delivers webhooks: after restarts the receiver
// (deduplicating by webhook-id, as the docs tell receivers to) has every event, in order per key.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { provision } from '../../src/nats/provision.js';
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
let receiver: WebhookReceiver | null = null;

beforeAll(async () => {
  nats = await TestNatsServer.start();
  nc = await connect({ servers: nats.url });
  dir = await mkdtemp(join(tmpdir(), 'sluice-wh-'));
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await receiver?.close();
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

test(
  'SIGKILL mid-delivery, restarted: the receiver ends with every event, in order per key',
  { timeout: 120_000 },
  async () => {
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    // A receiver slow enough that kills land while many deliveries are in flight.
    receiver = await WebhookReceiver.start(secret, () => ({
      status: 200,
      delayMs: Math.floor(Math.random() * 15),
    }));
    const raw = {
      nats: { servers: nats.url, stream: 'WHK', subjectPrefix: 'whk', kvBucket: 'whk_kv' },
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
          name: 'payroll',
          url: receiver.url,
          secret,
          concurrency: 8,
          timeout: '2s',
          retry: { maxAge: '10m', initialDelay: '10ms', maxDelay: '200ms' },
        },
      ],
    };
    const file = join(dir, 'sluice.yaml');
    await writeFile(file, JSON.stringify(raw));
    const cfg = parseConfig(raw);
    await provision(nc, cfg.nats);

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
    await publishResourceEvents(nc, 'whk', events.slice(0, 100));
    child = sluice(['run', '-c', file]);
    // Kill it at random moments while more events arrive; each time only once it has delivered more.
    let published = 100;
    for (let kill = 0; kill < 3; kill++) {
      const before = receiver.accepted.length;
      await waitFor(async () => receiver!.accepted.length > before, 'some progress', 30_000, 10);
      await new Promise((r) => setTimeout(r, Math.random() * 150));
      child.kill('SIGKILL');
      await exited(child);
      const next = Math.min(events.length, published + 50);
      await publishResourceEvents(nc, 'whk', events.slice(published, next));
      published = next;
      child = sluice(['run', '-c', file]);
    }
    await publishResourceEvents(nc, 'whk', events.slice(published));
    await waitFor(async () => receiver!.accepted.length === events.length, 'every event', 60_000);

    expect(new Set(receiver.accepted.map((a) => a.id))).toEqual(new Set(events.map((e) => e.id)));
    const byKey = new Map<number, number[]>();
    for (const a of receiver.accepted) {
      const d = a.event.data as { key: { id: number }; after: { name: string } };
      byKey.set(d.key.id, [...(byKey.get(d.key.id) ?? []), Number(d.after.name.slice(1))]);
    }
    for (const [, seen] of byKey) expect(seen).toEqual([...Array(versions).keys()]);
    expect(receiver.attempts.every((a) => a.signatureValid && a.webhookId === a.eventId)).toBe(true);
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
