// Where an interrupted triggers first pass picks up: after the last row the stream holds.
import { describe, expect, test } from 'vitest';
import { resumeAfterPublished } from '../../adapters/triggers/triggers-snapshot.js';
import type { KeyedTable } from '../../src/sql/keyset.js';
import type { SourceContext } from '../../src/core/source-adapter.js';

const table = (qualified: string): KeyedTable => ({
  qualified,
  schema: 'public',
  name: qualified.split('.')[1]!,
  key: ['id'],
});
const tables = [table('public.a'), table('public.b')];
const log = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };

function ctx(position: string, index: number, id: number, op = 'r'): SourceContext {
  return {
    signal: new AbortController().signal,
    log,
    lastPublished: { position, index, key: { id }, event: { op } },
  };
}

describe('resumeAfterPublished', () => {
  test('the stream holds rows past the committed chunk: resume after the last one, in its chunk', () => {
    const snap = { table: 'public.a', after: [40], chunk: 2 };
    expect(resumeAfterPublished(snap, ctx('public.a:s:4', 7, 67), tables)).toBe(8);
    // The loop adds one before reading: the rows that follow keep chunk 4's position.
    expect(snap).toEqual({ table: 'public.a', after: [67], chunk: 3 });
  });

  test('in a later table', () => {
    const snap = { table: 'public.a', after: [40], chunk: 2 };
    expect(resumeAfterPublished(snap, ctx('public.b:s:1', 19, 20), tables)).toBe(20);
    expect(snap).toEqual({ table: 'public.b', after: [20], chunk: 0 });
  });

  test('nothing past the committed chunk, not a snapshot row, or no tail: the committed progress', () => {
    for (const c of [
      ctx('public.a:s:2', 19, 40),
      ctx('public.a:s:1', 19, 20),
      ctx('sluice_changelog:5', 0, 3, 'c'),
      ctx('public.zz:s:9', 0, 3),
      { signal: new AbortController().signal, log, lastPublished: null },
    ]) {
      const snap = { table: 'public.a', after: [40], chunk: 2 };
      expect(resumeAfterPublished(snap, c, tables)).toBe(0);
      expect(snap).toEqual({ table: 'public.a', after: [40], chunk: 2 });
    }
  });
});
