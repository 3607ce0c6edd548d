// Failover under load: two `sluice run` processes with one config and a pgbench load. The
// streaming one is SIGKILLed twenty times (the other takes over; the takeover time is measured),
// frozen with SIGSTOP for longer than the lease, and cut off from NATS behind a proxy. Exactly one
// streams at a time: the stream must hold every committed change once, and a process that lost
// the lease goes back to waiting instead of exiting.
import type { ChildProcess } from 'node:child_process';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readTableStates } from '../support/postgres-state.js';
import { toVerifiedEvent, verifyStream } from '../support/stream-verifier.js';
import { Harness } from '../support/harness.js';
import type { TestNatsServer } from '../support/nats-server.js';
import { pgbenchInit, pgbenchPath, pgbenchRun } from '../support/pgbench.js';
import { waitFor } from '../support/ports.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { exited } from './fault-support.js';

const TABLES = [
  'public.pgbench_accounts',
  'public.pgbench_branches',
  'public.pgbench_tellers',
  'public.pgbench_history',
  'public.marker',
];
const LEASE_TTL_MS = 2000;
const hasPgbench = pgbenchPath() !== null;
let h: Harness;
let proxy: TcpProxy | null = null;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!hasPgbench) return;
  h = await Harness.start();
  pgbenchInit(h.pg.url(), 1);
  await h.pg.query(`
    ALTER TABLE pgbench_accounts REPLICA IDENTITY FULL; ALTER TABLE pgbench_branches REPLICA IDENTITY FULL;
    ALTER TABLE pgbench_tellers REPLICA IDENTITY FULL; ALTER TABLE pgbench_history REPLICA IDENTITY FULL;
    CREATE TABLE marker (id int PRIMARY KEY);`);
  // A frozen (SIGSTOPped) streamer keeps its replication connection, and so the slot, until
  // PostgreSQL gives up on it after wal_sender_timeout (60 s by default): the standby holds the
  // lease but waits for the slot that long. HA deployments lower it; so does this test.
  await h.pg.query(`ALTER SYSTEM SET wal_sender_timeout = '5s'`);
  await h.pg.query('SELECT pg_reload_conf()');
}, 120_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await proxy?.stop();
  await h?.stop();
});

interface Lease {
  pid: number;
  revision: number;
}

async function lease(jsm: JetStreamManager): Promise<Lease | null> {
  const m = await jsm.streams
    .getMessage('KV_sluice_offsets', { last_by_subj: '$KV.sluice_offsets.lease.bench' })
    .catch(() => null);
  if (!m || m.data.length === 0) return null;
  const pid = Number((m.json<{ owner?: string }>().owner ?? '').split(':')[1]);
  return Number.isInteger(pid) ? { pid, revision: m.seq } : null;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

test.skipIf(!hasPgbench)(
  'two processes under load: 20 SIGKILLs of the streaming one, a SIGSTOP past the lease and a network cut; one streams at a time and nothing is lost or doubled',
  { timeout: 480_000 },
  async () => {
    proxy = await TcpProxy.start((h.nats as TestNatsServer).port);
    const nats = { leaseTtl: `${LEASE_TTL_MS}ms`, commitInterval: '100ms', publish: { timeout: '2s' } };
    const source = { name: 'bench', tables: TABLES, snapshotChunkSize: 2000 };
    const direct = await h.writeConfig(h.rawConfig(source, nats));
    const viaProxy = await h.writeConfig(h.rawConfig(source, { ...nats, servers: proxy.url }));
    const spawn = (file: string) => {
      const c = h.spawnSluice(file);
      children.push(c);
      return c;
    };
    // `a` reaches NATS through the proxy (so it can be cut off), `b` directly.
    let a = spawn(viaProxy);
    let b = spawn(direct);
    const respawn = (victim: ChildProcess) => {
      if (victim === a) a = spawn(viaProxy);
      else b = spawn(direct);
    };
    await h.pg.query('INSERT INTO marker VALUES (0)');
    await h.waitForMarker(a, 'bench', 180_000, 0);
    const jsm = await jetstreamManager(await h.natsConnection());
    const holder = async () => {
      const l = await waitFor(() => lease(jsm), 'a lease holder', 60_000, 50);
      return { lease: l, proc: [a, b].find((c) => c.pid === l.pid) };
    };
    const lastSeq = async () => (await jsm.streams.info('SLUICE')).state.last_seq;
    /** Until another process holds the lease and the stream grows past `seq`; returns when. */
    const takenOver = (before: Lease, seq: number) =>
      waitFor(
        async () => {
          const l = await lease(jsm);
          if (!l || l.pid === before.pid) return null;
          return (await lastSeq()) > seq ? Date.now() : null;
        },
        'a takeover',
        120_000,
        20,
      );

    const bench = pgbenchRun(h.pg.url(), ['-c', '2', '-j', '1', '-T', '150', '-R', '250']);
    let benchDone = false;
    void bench.done.finally(() => (benchDone = true)).catch(() => {});

    // 1. Twenty SIGKILLs of whichever process streams; the other must take over.
    const takeovers: number[] = [];
    for (let k = 0; k < 20; k++) {
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 700));
      const { lease: l, proc } = await holder();
      if (!proc) throw new Error(`the lease holder ${l.pid} is not one of the test's processes`);
      const seq = await lastSeq();
      const killedAt = Date.now();
      proc.kill('SIGKILL');
      await exited(proc);
      respawn(proc);
      takeovers.push((await takenOver(l, seq)) - killedAt);
    }

    // 2. The streaming process frozen for three lease periods, then thawed: the other takes over,
    //    and the thawed one (fenced) goes back to waiting instead of publishing or exiting.
    {
      const { lease: l, proc } = await holder();
      const seq = await lastSeq();
      proc!.kill('SIGSTOP');
      await takenOver(l, seq);
      await new Promise((r) => setTimeout(r, 2 * LEASE_TTL_MS));
      proc!.kill('SIGCONT');
      await new Promise((r) => setTimeout(r, 2 * LEASE_TTL_MS));
      expect(proc!.exitCode).toBeNull();
    }

    // 3. The process behind the proxy made the holder, then cut off from NATS for three lease
    //    periods: `b` takes over; once the network is back, `a` waits again.
    {
      let cur = await holder();
      if (cur.proc === b) {
        const seq = await lastSeq();
        b.kill('SIGKILL');
        await exited(b);
        b = spawn(direct);
        await takenOver(cur.lease, seq);
        cur = await holder();
      }
      expect(cur.proc).toBe(a);
      const seq = await lastSeq();
      await proxy.cut();
      await takenOver(cur.lease, seq);
      await new Promise((r) => setTimeout(r, 2 * LEASE_TTL_MS));
      await proxy.restore();
      await new Promise((r) => setTimeout(r, 2 * LEASE_TTL_MS));
      expect(a.exitCode).toBeNull();
      expect(b.exitCode).toBeNull();
    }
    const faultsUnderLoad = !benchDone;

    const out = await bench.done;
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);
    const changesMade = processed * 4;
    await h.pg.query('INSERT INTO marker VALUES (1)');
    await waitFor(
      async () => {
        const m = await jsm.streams
          .getMessage('SLUICE', { last_by_subj: 'sluice.bench.public.marker.*' })
          .catch(() => null);
        return m !== null && m.json<{ after: { id: number } }>().after.id >= 1;
      },
      'the final marker',
      180_000,
      250,
    );
    for (const c of [a, b]) c.kill('SIGTERM');
    await Promise.all([exited(a), exited(b)]);

    const events = (await h.events('bench')).map((e) => toVerifiedEvent(e.event, e.key));
    const report = verifyStream(events, await readTableStates(h.pg.url(), TABLES), new Set(TABLES));
    const changes = events.filter((e) => !e.snapshot && e.table !== 'public.marker').length;
    const sorted = [...takeovers].sort((x, y) => x - y);
    console.log(
      `fault failover (20 SIGKILLs, SIGSTOP, network cut; leaseTtl ${LEASE_TTL_MS} ms): takeover p50 ${percentile(sorted, 50)} ms, p99 ${percentile(sorted, 99)} ms, max ${sorted[sorted.length - 1]} ms; changes made ${changesMade}, events received ${changes}, lost ${report.lost}, duplicated ${report.duplicates}`,
    );
    expect(faultsUnderLoad).toBe(true);
    expect(takeovers).toHaveLength(20);
    expect(report.examples).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(report.lost).toBe(0);
    expect(changes).toBe(changesMade);
  },
);
