// `npm run bench` fails when a suite fails, after the other suites have run and been reported.
import { describe, expect, test } from 'vitest';
import { exitCode, runSuites, type Suite } from '../../bench/runner.js';
import type { BenchResult } from '../../bench/types.js';

const figure = (name: string): BenchResult => ({ name, value: 1, unit: 'x', baseline: null, ratio: null });
const ok = (name: string): Suite => [name, async () => [figure(name)]];
const broken = (name: string): Suite => [
  name,
  async () => {
    throw new Error(`${name} exploded`);
  },
];

describe('bench runner', () => {
  test('every suite passes: exit 0, every figure kept', async () => {
    const lines: string[] = [];
    const o = await runSuites([ok('pg'), ok('rest')], null, (l) => lines.push(l));
    expect(o.results.map((r) => r.name)).toEqual(['pg', 'rest']);
    expect(o.failed).toEqual([]);
    expect(exitCode(o)).toBe(0);
    expect(lines).toEqual([]);
  });

  test('a failed suite: the others still run, its failure is logged, exit 1', async () => {
    const lines: string[] = [];
    const o = await runSuites([ok('pg'), broken('rest'), ok('polling')], null, (l) => lines.push(l));
    expect(o.results.map((r) => r.name)).toEqual(['pg', 'polling']);
    expect(o.failed).toEqual(['rest']);
    expect(exitCode(o)).toBe(1);
    expect(lines.join('\n')).toContain('rest: failed: Error: rest exploded');
  });

  test('--only runs the named suites; a failure in an unselected suite does not count', async () => {
    const o = await runSuites([broken('pg'), ok('rest')], new Set(['rest']), () => {});
    expect(o.results.map((r) => r.name)).toEqual(['rest']);
    expect(exitCode(o)).toBe(0);
  });

  test('--only naming no suite: exit 2, nothing silently skipped', async () => {
    const lines: string[] = [];
    const o = await runSuites([ok('pg')], new Set(['pgg']), (l) => lines.push(l));
    expect(o.results).toEqual([]);
    expect(o.unknown).toEqual(['pgg']);
    expect(exitCode(o)).toBe(2);
    expect(lines).toEqual(['pgg: no such suite (suites: pg)']);
  });
});
