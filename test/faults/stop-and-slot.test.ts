// Faults around the process and its slot: frozen with SIGSTOP, the slot dropped behind its back,
// two processes for one source.
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { Writer } from '../support/writer.js';
import { exited, expectClean, settleAndVerify, waitStreaming } from './fault-support.js';

let h: Harness;
beforeAll(async () => {
  h = await Harness.start();
});
afterAll(async () => {
  await h?.stop();
});

test('sluice frozen with SIGSTOP for 10 s and resumed: nothing lost or duplicated', async () => {
  await h.pg.query(Writer.ddl('frozen'));
  const file = await h.writeConfig(
    h.rawConfig({ name: 'frozen', tables: ['public.frozen'] }, { leaseTtl: '3s' }),
  );
  const child = h.spawnSluice(file);
  try {
    await waitStreaming(h, 'frozen', 'frozen');
    const w = new Writer(h.pg.url(), 'frozen');
    w.start(150);
    await waitFor(async () => w.committed > 100, 'writes', 30_000);
    child.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 10_000));
    child.kill('SIGCONT');
    await waitFor(async () => w.committed > 2000, 'writes after the freeze', 120_000);
    expectClean(await settleAndVerify(h, 'sigstop-10s', 'frozen', 'frozen', w, child));
  } finally {
    child.kill('SIGKILL');
    await exited(child);
  }
});

test('two sluice processes for one source: only one streams, the other takes over when it dies', async () => {
  await h.pg.query(Writer.ddl('pair'));
  const file = await h.writeConfig(
    h.rawConfig({ name: 'pair', tables: ['public.pair'] }, { leaseTtl: '2s' }),
  );
  // Sampled throughout, from before the first process starts until the stream is verified: a
  // single sample would miss two streamers overlapping for a moment (at start-up, at failover).
  const sampler = await sampleSenders(h, 'sluice:pair');
  const a = h.spawnSluice(file);
  let b: ChildProcess | null = null;
  try {
    await waitStreaming(h, 'pair', 'pair');
    b = h.spawnSluice(file);
    const w = new Writer(h.pg.url(), 'pair');
    w.start(150);
    await waitFor(async () => w.committed > 300, 'writes', 60_000);
    // Only one holds the slot: the replication connection is a's.
    const [slot] = await h.pg.query<{ active_pid: number }>(
      `SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'sluice_pair'`,
    );
    expect(slot?.active_pid).toBeTruthy();
    const streamerBefore = sampler.pids();
    a.kill('SIGKILL');
    await exited(a);
    await waitFor(async () => w.committed > 900, 'writes after the failover', 120_000);
    expectClean(await settleAndVerify(h, 'two-processes', 'pair', 'pair', w, b));
    const seen = await sampler.stop();
    console.log(
      `two processes: ${seen.samples} samples of pg_stat_replication, at most ${seen.max} streamer(s), walsender pids ${[...seen.pids].join(', ')}`,
    );
    // b waits for the lease instead of fighting for the slot: never two replication connections.
    expect(seen.max).toBe(1);
    expect(seen.samples).toBeGreaterThan(20);
    // The samples covered a's streaming and b's after the takeover (a new walsender).
    expect(streamerBefore.size).toBeGreaterThanOrEqual(1);
    expect([...seen.pids].some((pid) => !streamerBefore.has(pid))).toBe(true);
  } finally {
    await sampler.stop().catch(() => {});
    for (const p of [a, b]) p?.kill('SIGKILL');
    await Promise.all([exited(a), b && exited(b)]);
  }
});

/** Counts `application_name`'s replication connections over and over until stop(). */
async function sampleSenders(
  harness: Harness,
  applicationName: string,
): Promise<{
  pids(): Set<number>;
  stop(): Promise<{ samples: number; max: number; pids: Set<number> }>;
}> {
  const c = await harness.pg.client();
  const seen = { samples: 0, max: 0, pids: new Set<number>() };
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await c.query<{ pid: number }>(
        'SELECT pid FROM pg_stat_replication WHERE application_name = $1',
        [applicationName],
      );
      seen.samples++;
      seen.max = Math.max(seen.max, rows.length);
      for (const r of rows) seen.pids.add(r.pid);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  let stopped: Promise<typeof seen> | null = null;
  return {
    pids: () => new Set(seen.pids),
    stop: () =>
      (stopped ??= (async () => {
        running = false;
        await loop;
        await c.end();
        return seen;
      })()),
  };
}

test('the replication slot dropped behind its back: a clear OFFSET_LOST error, not silent loss', async () => {
  await h.pg.query(Writer.ddl('dropped'));
  const file = await h.writeConfig(h.rawConfig({ name: 'dropped', tables: ['public.dropped'] }));
  const child = h.spawnSluice(file);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await waitStreaming(h, 'dropped', 'dropped');
    // Terminate the walsender and drop the slot before sluice reconnects.
    await waitFor(
      async () => {
        await h.pg.query(
          `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'sluice_dropped' AND active_pid IS NOT NULL`,
        );
        const [r] = await h.pg
          .query<{ ok: boolean }>(
            `SELECT count(*) = 0 AS ok FROM (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'sluice_dropped' AND NOT active) d`,
          )
          .catch(() => [{ ok: false }]);
        const [left] = await h.pg.query<{ n: string }>(
          `SELECT count(*)::text AS n FROM pg_replication_slots WHERE slot_name = 'sluice_dropped'`,
        );
        return r !== undefined && left?.n === '0';
      },
      'the slot to be dropped',
      30_000,
      20,
    );
    await h.pg.query(`INSERT INTO dropped VALUES (1, 0, 'after the drop')`);
    await waitFor(async () => child.exitCode !== null, 'sluice to stop', 60_000);
    expect(child.exitCode).toBe(1);
    expect(stderr).toMatch(/OFFSET_LOST/);
    expect(stderr).toMatch(/replication slot sluice_dropped does not exist/);
  } finally {
    child.kill('SIGKILL');
    await exited(child);
  }
});
