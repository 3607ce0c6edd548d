// A fleet, not a pair (issue 15, item 3): three `sluice run` processes with one config of seven
// postgres sources (one slot and publication each, on one embedded PostgreSQL) spread the sources
// (each holds at most ceil(7/3) = 3); under a steady write load one process is SIGKILLed (the two
// left take its sources, at most 4 each) and a fourth joins (sources are handed over to it until
// every process holds at most 3 again). Every source's stream must then hold each committed change
// exactly once (settleAndVerify), and a source is never held by two processes at once.
import type { ChildProcess } from 'node:child_process';
import { Kvm, type KV } from '@nats-io/kv';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { liveMembers, type MemberBody } from '../../src/nats/fleet.js';
import { sluice } from '../support/cli.js';
import { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import { Writer } from '../support/writer.js';
import { expectClean, exited, settleAndVerify, waitStreaming, type FaultReport } from './fault-support.js';

const SOURCES = 7;
const names = Array.from({ length: SOURCES }, (_, i) => `fleet${i}`);
const table = (i: number) => `fleet_t${i}`;
let h: Harness;
const children: ChildProcess[] = [];
const writers: Writer[] = [];

beforeAll(async () => {
  h = await Harness.start();
  for (let i = 0; i < SOURCES; i++) await h.pg.query(Writer.ddl(table(i)));
}, 120_000);

afterAll(async () => {
  for (const w of writers) await w.stop();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await h?.stop();
});

interface Spread {
  members: MemberBody[];
  /** Source → the instance whose unexpired lease names it. */
  holders: Map<string, string>;
}

async function spread(kv: KV): Promise<Spread> {
  const members = await liveMembers(kv);
  const holders = new Map<string, string>();
  for (const s of names) {
    const e = await kv.get(`lease.${s}`).catch(() => null);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) continue;
    const b = e.json<{ instance?: string; expiresAt: number }>();
    if (b.instance && b.expiresAt > Date.now()) holders.set(s, b.instance);
  }
  return { members, holders };
}

/** Per live member, how many sources its leases hold. */
function counts(s: Spread): Map<string, number> {
  const out = new Map(s.members.map((m) => [m.instance, 0]));
  for (const inst of s.holders.values()) out.set(inst, (out.get(inst) ?? 0) + 1);
  return out;
}

/** Until `n` members are live, every source is held by one of them, and none holds more than `max`. */
function settled(kv: KV, n: number, max: number, also: (s: Spread) => boolean = () => true) {
  return waitFor(
    async () => {
      const s = await spread(kv);
      if (s.members.length !== n || s.holders.size !== SOURCES) return null;
      const live = new Set(s.members.map((m) => m.instance));
      if (![...s.holders.values()].every((i) => live.has(i))) return null;
      if (Math.max(...counts(s).values()) > max) return null;
      return also(s) ? s : null;
    },
    `${n} members holding ${SOURCES} sources, at most ${max} each`,
    180_000,
    250,
  );
}

test(
  'three processes, seven sources under load; one SIGKILLed, a fourth added: spread kept, every change once per source',
  { timeout: 600_000 },
  async () => {
    const cfg = h.rawConfig({ name: 'unused', tables: [] }, { leaseTtl: '2s', commitInterval: '100ms' });
    const template = (cfg.sources as Record<string, unknown>[])[0]!;
    cfg.sources = names.map((name, i) => ({ ...template, name, tables: [`public.${table(i)}`] }));
    const file = await h.writeConfig(cfg);
    const spawn = () => {
      const c = h.spawnSluice(file);
      children.push(c);
      return c;
    };
    const nc = await h.natsConnection();
    const kv = await waitFor(() => new Kvm(nc).open('sluice_offsets').catch(() => null), 'the KV bucket');
    const procs = [spawn(), spawn(), spawn()];

    let s = await settled(kv, 3, 3);
    console.log('fleet of 3:', Object.fromEntries(counts(s)));
    // Every source past its initial snapshot, so that each change the writers make is streamed.
    await Promise.all(names.map((n, i) => waitStreaming(h, n, table(i))));

    for (let i = 0; i < SOURCES; i++) {
      const w = new Writer(h.pg.url(), table(i));
      writers.push(w);
      w.start(15);
    }
    await new Promise((r) => setTimeout(r, 4000));

    // Kill the member holding the most sources: the two left must take all of them.
    const byCount = [...counts(s)].sort((a, b) => b[1] - a[1]);
    const victimInstance = byCount[0]![0];
    const victimPid = s.members.find((m) => m.instance === victimInstance)!.pid;
    const victim = procs.find((p) => p.pid === victimPid)!;
    expect(victim).toBeDefined();
    victim.kill('SIGKILL');
    await exited(victim);
    s = await settled(kv, 2, 4, (x) => !x.members.some((m) => m.instance === victimInstance));
    console.log('after the kill:', Object.fromEntries(counts(s)));
    await new Promise((r) => setTimeout(r, 3000));

    // A fourth process joins: sources are handed over until nobody holds more than 3 and it holds some.
    const fourth = spawn();
    s = await settled(kv, 3, 3, (x) => {
      const m = x.members.find((mm) => mm.pid === fourth.pid);
      return m !== undefined && (counts(x).get(m.instance) ?? 0) > 0;
    });
    console.log('after a fourth joined:', Object.fromEntries(counts(s)));
    await new Promise((r) => setTimeout(r, 3000));
    for (const p of children) if (p !== victim) expect(p.exitCode, 'a fleet member exited').toBeNull();

    // `sluice status` names the process holding each source, and lists the members.
    const st = await sluice(['status', '-c', file, '--json']);
    expect(st.code, st.stderr).toBe(0);
    const rows = JSON.parse(st.stdout) as Record<string, unknown>[];
    const now = await spread(kv);
    const livePids = new Set(children.filter((p) => p !== victim).map((p) => p.pid));
    for (const n of names) {
      const row = rows.find((r) => r.source === n)!;
      expect(row.state).toBe('streaming');
      expect(livePids.has(row.pid as number), `${n} held by a live process`).toBe(true);
      expect(typeof row.host).toBe('string');
      // The holder may have changed between the two reads only by a hand-off, which settled above.
      expect(row.instance).toBe(now.holders.get(n));
    }
    expect(rows.filter((r) => typeof r.member === 'string').map((r) => r.pid as number).sort()).toEqual(
      [...livePids].sort(),
    );

    const reports: FaultReport[] = [];
    for (let i = 0; i < SOURCES; i++)
      reports.push(await settleAndVerify(h, `fleet source ${names[i]}`, names[i]!, table(i), writers[i]!));
    for (const r of reports) {
      expect(r.changesMade).toBeGreaterThan(0);
      expectClean(r);
    }
  },
);
