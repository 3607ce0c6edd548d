// Shared by the fault scenarios: run a writer, inject a fault, settle, and compare the stream
// with the database and with what the writer committed.
import type { ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { readTableStates } from '../support/postgres-state.js';
import { toVerifiedEvent, verifyStream, type VerifyReport } from '../support/stream-verifier.js';
import type { Harness } from '../support/harness.js';
import { waitFor } from '../support/ports.js';
import type { Writer } from '../support/writer.js';

export interface FaultReport extends VerifyReport {
  scenario: string;
  changesMade: number;
  changesReceived: number;
}

/** Stops the writer, waits for a marker row to come through, and verifies everything before it. */
export async function settleAndVerify(
  h: Harness,
  scenario: string,
  source: string,
  table: string,
  writer: Writer,
  child?: ChildProcess,
): Promise<FaultReport> {
  await writer.stop();
  await h.pg.query(`INSERT INTO ${table} VALUES (-1, -1, 'marker')`);
  await waitFor(
    async () => {
      if (child && child.exitCode !== null) throw new Error(`sluice exited with ${child.exitCode}`);
      return (await h.events(source)).some((e) => (e.event.after as { id?: number } | null)?.id === -1);
    },
    'the marker event',
    180_000,
    250,
  );
  const events = (await h.events(source)).map((e) => toVerifiedEvent(e.event, e.key));
  const report = verifyStream(
    events,
    await readTableStates(h.pg.url(), [`public.${table}`]),
    new Set([`public.${table}`]),
  );
  // Probe and marker rows have negative ids; the writer's rows are positive.
  const rowId = (e: (typeof events)[number]) => ((e.after ?? e.before) as { id?: number } | null)?.id ?? 0;
  const changesReceived = events.filter((e) => !e.snapshot && rowId(e) > 0).length;
  const out: FaultReport = { ...report, scenario, changesMade: writer.changes, changesReceived };
  console.log(
    `fault ${scenario}: changes made ${out.changesMade}, events received ${out.changesReceived}, lost ${out.lost}, duplicated ${out.duplicates}`,
  );
  return out;
}

/** Inserts probe rows until one arrives as a streamed insert: from then on every change is streamed. */
export async function waitStreaming(h: Harness, source: string, table: string): Promise<void> {
  for (let k = 2; k < 200; k++) {
    await h.pg.query(`INSERT INTO ${table} VALUES ($1, -1, 'probe')`, [-k]);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      const evs = await h.events(source);
      if (evs.some((e) => e.event.op === 'c' && (e.event.after as { id?: number }).id === -k)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`source ${source} never started streaming`);
}

export function expectClean(r: FaultReport): void {
  expect(r.examples).toEqual([]);
  expect(r.duplicates).toBe(0);
  expect(r.lost).toBe(0);
  // Every committed change arrived exactly once: the counts match, not just the final state.
  expect(r.changesReceived).toBe(r.changesMade);
}

export function exited(p: ChildProcess): Promise<void> {
  return p.exitCode !== null || p.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => p.once('exit', () => r()));
}

/** A deterministic pseudo-random sequence, so a failure can be replayed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}
