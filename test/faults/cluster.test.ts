// A real JetStream cluster: three nats-server nodes with routes on loopback, the stream and the KV
// bucket at R3, two `sluice run` processes with one config under a pgbench load. The stream's
// leader node, the KV bucket's leader node and the streaming Sluice process are SIGKILLed in turn
// (and restarted): the stream must hold every committed change exactly once.
import type { ChildProcess } from 'node:child_process';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readTableStates } from '../support/postgres-state.js';
import { toVerifiedEvent, verifyStream } from '../support/stream-verifier.js';
import { Harness } from '../support/harness.js';
import type { TestNatsCluster } from '../support/nats-server.js';
import { pgbenchInit, pgbenchPath, pgbenchRun } from '../support/pgbench.js';
import { waitFor } from '../support/ports.js';
import { exited } from './fault-support.js';

const TABLES = [
  'public.pgbench_accounts',
  'public.pgbench_branches',
  'public.pgbench_tellers',
  'public.pgbench_history',
  'public.marker',
];
const hasPgbench = pgbenchPath() !== null;
let h: Harness;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!hasPgbench) return;
  h = await Harness.start({ natsNodes: 3 });
  pgbenchInit(h.pg.url(), 1);
  await h.pg.query(`
    ALTER TABLE pgbench_accounts REPLICA IDENTITY FULL; ALTER TABLE pgbench_branches REPLICA IDENTITY FULL;
    ALTER TABLE pgbench_tellers REPLICA IDENTITY FULL; ALTER TABLE pgbench_history REPLICA IDENTITY FULL;
    CREATE TABLE marker (id int PRIMARY KEY);`);
}, 120_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await h?.stop();
});

/** The server name (`n1`…) leading a stream's raft group. */
async function leaderOf(jsm: JetStreamManager, stream: string): Promise<string> {
  return waitFor(
    async () => (await jsm.streams.info(stream).catch(() => null))?.cluster?.leader ?? null,
    `a leader for ${stream}`,
    60_000,
    250,
  );
}

/** The pid of the process holding the source's lease, from the lease's owner (`host:pid:nonce`). */
async function leaseHolderPid(jsm: JetStreamManager, source: string): Promise<number | null> {
  const m = await jsm.streams
    .getMessage('KV_sluice_offsets', { last_by_subj: `$KV.sluice_offsets.lease.${source}` })
    .catch(() => null);
  if (!m || m.data.length === 0) return null;
  const owner = m.json<{ owner?: string }>().owner ?? '';
  const pid = Number(owner.split(':')[1]);
  return Number.isInteger(pid) ? pid : null;
}

test.skipIf(!hasPgbench)(
  'three NATS nodes at R3, two Sluice processes: leader nodes and the streaming process killed under load lose and double nothing',
  { timeout: 420_000 },
  async () => {
    const cluster = h.nats as TestNatsCluster;
    const file = await h.writeConfig(
      h.rawConfig(
        { name: 'bench', tables: TABLES, snapshotChunkSize: 2000 },
        {
          leaseTtl: '2s',
          commitInterval: '100ms',
          streamConfig: { replicas: 3 },
          publish: { timeout: '2s' },
        },
      ),
    );
    const spawn = () => {
      const c = h.spawnSluice(file);
      children.push(c);
      return c;
    };
    let a = spawn();
    let b = spawn();
    await h.pg.query('INSERT INTO marker VALUES (0)');
    await h.waitForMarker(a, 'bench', 180_000, 0);
    const jsm = await jetstreamManager(await h.natsConnection());

    const bench = pgbenchRun(h.pg.url(), ['-c', '2', '-j', '1', '-T', '40', '-R', '300']);
    const faults: string[] = [];
    const killNode = async (stream: string) => {
      const leader = await leaderOf(jsm, stream);
      const node = cluster.node(leader);
      await node.stopProcess('SIGKILL');
      faults.push(`${stream} leader ${leader}`);
      await new Promise((r) => setTimeout(r, 2000));
      await node.startProcess();
    };
    const killStreamer = async () => {
      const pid = await leaseHolderPid(jsm, 'bench');
      const victim = [a, b].find((c) => c.pid === pid) ?? a;
      victim.kill('SIGKILL');
      await exited(victim);
      faults.push(`sluice pid ${victim.pid}`);
      const fresh = spawn();
      if (victim === a) a = fresh;
      else b = fresh;
    };
    const plan = [
      () => killNode('SLUICE'),
      killStreamer,
      () => killNode('KV_sluice_offsets'),
      killStreamer,
      () => killNode('SLUICE'),
      killStreamer,
    ];
    for (const step of plan) {
      await new Promise((r) => setTimeout(r, 2500 + Math.random() * 2000));
      await step();
    }
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
    console.log(
      `fault cluster (${faults.join(', ')}): changes made ${changesMade}, events received ${changes}, lost ${report.lost}, duplicated ${report.duplicates}`,
    );
    expect(faults).toHaveLength(plan.length);
    expect(report.examples).toEqual([]);
    expect(report.duplicates).toBe(0);
    expect(report.lost).toBe(0);
    expect(changes).toBe(changesMade);
    expect(changes).toBeGreaterThan(1000);
  },
);
