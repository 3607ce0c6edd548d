import { describe, expect, it } from 'vitest';
import type { SourceChange } from '../../src/core/change-event.js';
import {
  notYetRead,
  rangesPending,
  resumedRanges,
  resumePoint,
  type ResumeJudge,
  type ResumedRange,
} from '../../src/core/snapshot-resume.js';

const tables = [
  { qualified: 's.a', key: ['id'] },
  { qualified: 's.b', key: ['id'] },
  { qualified: 's.nokey', key: [] },
];

describe('resumePoint', () => {
  const from = { table: 's.a', after: [10], ordinal: 10, position: 'snap@1' };
  it('keeps the committed progress when nothing of this snapshot was published past it', () => {
    expect(resumePoint(from, null, tables, String)).toEqual({ table: 's.a', after: [10], ordinal: 10 });
    const other = { position: 'other', index: 99, key: { id: 50 }, event: {} };
    expect(resumePoint(from, other, tables, String)).toEqual({ table: 's.a', after: [10], ordinal: 10 });
  });
  it('moves past the last published row of this snapshot, its key turned into a bound', () => {
    const last = {
      position: 'snap@1',
      index: 14,
      key: { id: 15 },
      event: { source: { schema: 's', table: 'b' } },
    };
    expect(resumePoint(from, last, tables, String)).toEqual({ table: 's.b', after: ['15'], ordinal: 15 });
  });
  it('does not move into a keyless table (no resumable point inside)', () => {
    const last = {
      position: 'snap@1',
      index: 14,
      key: {},
      event: { source: { schema: 's', table: 'nokey' } },
    };
    expect(resumePoint(from, last, tables, String)).toEqual({ table: 's.a', after: [10], ordinal: 10 });
  });
});

describe('resumedRanges', () => {
  it('covers the rest of the current table and every later one at the new point', () => {
    expect(resumedRanges(tables, [], { table: 's.a', after: [10] }, 5)).toEqual([
      { table: 's.a', after: [10], upTo: null, at: 5 },
      { table: 's.b', after: null, upTo: null, at: 5 },
      { table: 's.nokey', after: null, upTo: null, at: 5 },
    ]);
  });
  it('closes the earlier open range of the current table at the new start and keeps finished tables', () => {
    const previous: ResumedRange<number>[] = [
      { table: 's.a', after: [3], upTo: null, at: 2 },
      { table: 's.b', after: null, upTo: null, at: 2 },
    ];
    const out = resumedRanges(tables, previous, { table: 's.b', after: [7] }, 9);
    expect(out).toEqual([
      { table: 's.a', after: [3], upTo: null, at: 2 },
      { table: 's.b', after: null, upTo: [7], at: 2 },
      { table: 's.b', after: [7], upTo: null, at: 9 },
      { table: 's.nokey', after: null, upTo: null, at: 9 },
    ]);
  });
  it('reads the whole current table again when it has no key or no start key', () => {
    expect(resumedRanges(tables, [], { table: 's.nokey', after: null }, 1)).toEqual([
      { table: 's.nokey', after: null, upTo: null, at: 1 },
    ]);
  });
});

// Keys are numbers; a range holds key k when after < k <= upTo.
const within = (r: ResumedRange<number>, k: number) =>
  (r.after === null || k > (r.after[0] as number)) && (r.upTo === null || k <= (r.upTo[0] as number));

function judge(commit: number): ResumeJudge<number> {
  return {
    committedBefore: (at) => commit < at,
    table: (q) => tables.find((t) => t.qualified === q),
    keyValue: (v) => v,
    inRanges: (ranges, key) => Promise.resolve(ranges.some((r) => within(r, key[0] as number))),
    keyOf: (t, row) => Object.fromEntries(t.key.map((k) => [k, row[k]])),
  };
}

function change(op: 'c' | 'u' | 'd', table: string, key: number, before?: number): SourceChange {
  const [schema, name] = table.split('.');
  return {
    key: { id: key },
    position: 'p',
    index: 0,
    event: {
      op,
      before: before !== undefined ? { id: before, v: 'old' } : null,
      after: op === 'd' ? null : { id: key, v: 'new' },
      source: { schema, table: name },
    } as unknown as SourceChange['event'],
  };
}

describe('notYetRead', () => {
  // s.a keys 1..10 read at 5 (the first snapshot), keys > 10 read at 20 (the resume).
  const ranges: ResumedRange<number>[] = [{ table: 's.a', after: [10], upTo: null, at: 20 }];

  it('keeps changes committed after every range point, or outside the ranges', async () => {
    expect(await notYetRead(ranges, change('c', 's.a', 15), judge(25))).not.toBeNull();
    expect(await notYetRead(ranges, change('c', 's.a', 3), judge(10))).not.toBeNull();
    expect(await notYetRead(ranges, change('c', 's.b', 15), judge(10))).not.toBeNull();
  });
  it('drops a change to a key the resumed range already read', async () => {
    expect(await notYetRead(ranges, change('c', 's.a', 15), judge(10))).toBeNull();
    expect(await notYetRead(ranges, change('d', 's.a', 11), judge(19))).toBeNull();
  });
  it('drops every change to a table read whole at a later point', async () => {
    const whole: ResumedRange<number>[] = [{ table: 's.b', after: null, upTo: null, at: 20 }];
    expect(await notYetRead(whole, change('u', 's.b', 1, 1), judge(10))).toBeNull();
  });
  it('judges a key change by its old and new key separately', async () => {
    // Both read later: nothing. Neither: the update.
    expect(await notYetRead(ranges, change('u', 's.a', 15, 12), judge(10))).toBeNull();
    const u = change('u', 's.a', 3, 4);
    expect(await notYetRead(ranges, u, judge(10))).toBe(u);
    // Moved from the early range into the resumed one: only the old key's delete.
    const moved = await notYetRead(ranges, change('u', 's.a', 15, 4), judge(10));
    expect(moved?.event.op).toBe('d');
    expect(moved?.key).toEqual({ id: 4 });
    expect(moved?.event.after).toBeNull();
    // Moved out of the resumed range: only the new key's insert.
    const out = await notYetRead(ranges, change('u', 's.a', 4, 15), judge(10));
    expect(out?.event.op).toBe('c');
    expect(out?.key).toEqual({ id: 4 });
    expect(out?.event.before).toBeNull();
  });
});

describe('rangesPending', () => {
  it('is true until the stream passes every range point', () => {
    const ranges: ResumedRange<number>[] = [
      { table: 's.a', after: null, upTo: null, at: 5 },
      { table: 's.b', after: null, upTo: null, at: 9 },
    ];
    expect(rangesPending(ranges, (at) => 7 < at)).toBe(true);
    expect(rangesPending(ranges, (at) => 9 < at)).toBe(false);
  });
});
