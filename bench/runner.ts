// Runs the selected bench suites one after another and decides the exit code: a failed suite (or
// an `--only` naming no suite) fails `npm run bench`, after the figures of the others are printed.
import type { BenchResult } from './types.js';

export type Suite = readonly [name: string, run: () => Promise<BenchResult[]>];

export interface SuitesOutcome {
  readonly results: BenchResult[];
  /** Suites that threw, in run order. */
  readonly failed: string[];
  /** Names given to `--only` that are not suites. */
  readonly unknown: string[];
}

export async function runSuites(
  suites: readonly Suite[],
  only: ReadonlySet<string> | null,
  log: (line: string) => void,
): Promise<SuitesOutcome> {
  const names = new Set(suites.map(([n]) => n));
  const unknown = only ? [...only].filter((n) => !names.has(n)) : [];
  for (const n of unknown) log(`${n}: no such suite (suites: ${[...names].join(', ')})`);
  const results: BenchResult[] = [];
  const failed: string[] = [];
  for (const [name, run] of suites) {
    if (only && !only.has(name)) continue;
    try {
      results.push(...(await run()));
    } catch (err) {
      failed.push(name);
      log(`${name}: failed: ${(err as Error).stack ?? String(err)}`);
    }
  }
  return { results, failed, unknown };
}

/** 0 when every selected suite ran; 1 when one failed; 2 when `--only` named an unknown suite. */
export function exitCode(o: Pick<SuitesOutcome, 'failed' | 'unknown'>): number {
  if (o.failed.length > 0) return 1;
  if (o.unknown.length > 0) return 2;
  return 0;
}
