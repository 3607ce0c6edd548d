import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { changeEventSchema } from '../../src/core/change-event.js';

const dir = join(import.meta.dirname, '../fixtures/events');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json'));

describe('golden change events', () => {
  test.each(fixtures)('%s matches the event schema and round-trips unchanged', (file) => {
    const raw = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    const parsed = changeEventSchema.parse(raw);
    expect(parsed).toEqual(raw);
  });

  test('there is a fixture for every op', () => {
    const ops = new Set(fixtures.map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')).op));
    expect([...ops].sort()).toEqual(['c', 'd', 'r', 't', 'u']);
  });

  test('an update without an after image, or a delete without a before image, is refused', () => {
    const base = JSON.parse(readFileSync(join(dir, 'postgres-insert.json'), 'utf8'));
    expect(changeEventSchema.safeParse({ ...base, op: 'u', after: null }).success).toBe(false);
    expect(changeEventSchema.safeParse({ ...base, op: 'd', before: null, after: null }).success).toBe(false);
    expect(changeEventSchema.safeParse({ ...base, op: 'x' }).success).toBe(false);
  });
});
